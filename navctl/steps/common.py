"""Helpers shared by step functions: building runners and reading the recorded samples."""

from __future__ import annotations

import re

import numpy as np

from navctl.contract.libraries import import_libraries
from navctl.contract.tensors import ModelIO, load_samples
from navctl.plan import registry
from navctl.plan.registry import SOURCE
from navctl.runners import Runner, RunnerConfig, create_runner
from navctl.steps.child import StepContext


def runner_for(ctx: StepContext, runner: str, io: ModelIO | None, overrides: dict | None = None) -> Runner:
    """The step's runner; `overrides` replace some of the recipe's runner options (tuning). A runtime whose
    artifacts may name operators that libraries register at import gets the user's libraries first."""
    spec = ctx.spec
    if spec.format != SOURCE and registry.RUNTIMES[registry.split_runner(runner)[0]].user_ops:
        import_libraries(spec.libraries, ctx.log)
    artifact = ctx.path(spec.artifact) if spec.artifact else None
    return create_runner(
        runner,
        RunnerConfig(
            artifact=artifact,
            io=io,
            device=spec.device,
            threads=spec.threads,
            model=spec.model,
            recipe_dir=ctx.recipe_dir,
            options={**spec.options.runner, **(overrides or {})},
            format=spec.format if spec.format != "source" else None,
        ),
    )


def recorded_samples(ctx: StepContext) -> tuple[ModelIO, list[dict[str, np.ndarray]], list[dict[str, np.ndarray]]]:
    io = ctx.io()
    inputs, outputs = load_samples(ctx.workspace, io)
    return io, inputs, outputs


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def root_cause(exc: BaseException, brief: bool = False) -> str:
    """`Type: message` of the innermost cause, colour codes stripped: exporters wrap the real error
    (e.g. `Cannot view a tensor with shape ...`) in several layers of their own. The outermost error
    comes first with the cause after it, each by its first line in full; CPython's SystemError about a
    C function that "returned a result with an exception set" is only a wrapper and is left out.
    `brief`: the outermost error by its first sentence when a cause follows (for a step's reason)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    if len(seen) > 1 and _is_c_wrapper(seen[0]):
        seen = seen[1:]
    parts = []
    for error in (seen[0], seen[-1]) if len(seen) > 1 else (seen[0],):
        lines = [ln.strip() for ln in _ANSI.sub("", str(error)).splitlines() if ln.strip()]
        line = lines[0] if lines else ""
        if brief and len(seen) > 1 and error is seen[0]:
            line = _first_sentence(line)
        parts.append(f"{type(error).__name__}: {line}".rstrip(": "))
    return " (cause: ".join(parts) + (")" if len(parts) > 1 else "")


def _first_sentence(line: str) -> str:
    """A wrapper's first sentence: torch.onnx's ConversionError adds 'This is step 3/3 of exporting the
    model to ONNX. Next steps: ...' ahead of the cause, which a step's reason then lost to its length."""
    end = line.find(". ")
    return line[: end + 1] if end > 0 else line


def _is_c_wrapper(error: BaseException) -> bool:
    return isinstance(error, SystemError) and "returned a result with an exception set" in str(error)
