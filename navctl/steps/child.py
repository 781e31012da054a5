"""The body of every step subprocess: read spec.json, run the step function, write result.json.

Exit codes: 0 when result.json says ok or unavailable, 1 when it records a failure.
A crash (signal) or a hang leaves no result.json; the parent reads the signal or the timeout.
"""

from __future__ import annotations

import faulthandler
import importlib
import os
import random
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from navctl.contract.records import Artifact
from navctl.contract.step import MODEL_IO_FILE, RESULT_FILE, STEP_THREADS_ENV, ErrorRecord, StepResult, StepSpec
from navctl.hashing import sha256_path
from navctl.recipe.units import format_size
from navctl.status import write_atomic

MAX_REASON_CHARS = 300
# navctl's own reasons (StepFailed) may gather several errors' causes: each exporter's, for one
MAX_KNOWN_REASON_CHARS = 600


class StepUnavailable(Exception):
    """Raised by a step that cannot run on this machine (a package or device missing)."""


class StepFailed(Exception):
    """A known failure with a message meant for the user; the metrics gathered so far are kept."""

    def __init__(self, message: str, metrics: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metrics = metrics or {}


class StepRejected(StepFailed):
    """A reduced-precision format that runs but misses its accuracy gate: recorded as `rejected`, with its
    figures; it is never selected and does not fail the run."""


@dataclass
class StepContext:
    spec: StepSpec
    workspace: Path
    artifacts: list[str] = field(default_factory=list)
    note: str = ""  # a remark on a successful step for status (e.g. which exporter made the file)

    @property
    def recipe_dir(self) -> Path:
        return Path(self.spec.recipe_dir)

    def path(self, relative: str) -> Path:
        return self.workspace / relative

    def add_artifact(self, relative: str) -> None:
        self.artifacts.append(relative)

    def io(self):
        from navctl.contract.tensors import ModelIO

        return ModelIO.read(self.workspace / MODEL_IO_FILE)

    def log(self, message: str) -> None:
        print(f"[navctl] {message}", flush=True)


def set_threads(threads: int, framework: bool = True) -> None:
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if framework and "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(threads)


def _limit_memory(limit: int) -> None:
    """Cap the address space; allocations past it raise MemoryError instead of exhausting the machine."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def seed_everything(seed: int, framework: bool = True) -> None:
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed % (2**32))
    except ImportError:
        pass
    if framework and "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def _user_frame(tb: traceback.StackSummary, recipe_dir: str) -> str:
    """The innermost frame in the user's own files, else the innermost frame."""
    frames = list(tb)
    for frame in reversed(frames):
        if frame.filename.startswith(recipe_dir) and "site-packages" not in frame.filename:
            return f"{os.path.relpath(frame.filename, recipe_dir)}:{frame.lineno} in {frame.name}"
    # No frame of the user's: name a library's frame by its package path, but never navctl's own
    # internals (the log keeps the whole traceback).
    for frame in reversed(frames):
        if "site-packages" in frame.filename and f"{os.sep}navctl{os.sep}" not in frame.filename:
            return f"{frame.filename.split('site-packages' + os.sep, 1)[1]}:{frame.lineno} in {frame.name}"
    return ""


def _where(exc: BaseException, recipe_dir: str) -> str:
    """The user's innermost frame, looking through wrapped causes (a step re-raises with context)."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    for error in reversed(chain):
        stack = traceback.extract_tb(error.__traceback__)
        user = [f for f in stack if f.filename.startswith(recipe_dir) and "site-packages" not in f.filename]
        if user:
            return _user_frame(stack, recipe_dir)
    return _user_frame(traceback.extract_tb(chain[0].__traceback__), recipe_dir)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (VmHWM), in MiB; on CUDA the runner adds its own figure."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def read_spec(spec_path: Path) -> StepSpec | None:
    """The spec, validated as its kind's (options of another kind are refused); None, said on stderr, when
    it is not a valid spec: a hand-edited spec.json, or one from another navctl version."""
    try:
        return StepSpec.model_validate_json(spec_path.read_text())
    except (OSError, ValidationError) as exc:
        print(f"navctl: {spec_path}: not a valid step spec: {exc}", file=sys.stderr, flush=True)
        return None


def run_spec(spec_path: Path) -> int:
    result_path = spec_path.parent / RESULT_FILE
    result_path.unlink(missing_ok=True)  # an earlier run's result must not pass for this one's
    spec = read_spec(spec_path)
    if spec is None:
        return 2
    if shared := os.environ.get(STEP_THREADS_ENV, "").strip():  # beside other steps: its share of the cores
        spec = spec.model_copy(update={"threads": max(1, min(spec.threads, int(shared)))})
    workspace = Path.cwd()
    ctx = StepContext(spec=spec, workspace=workspace)
    if spec.memory_limit:
        _limit_memory(spec.memory_limit)
    set_threads(spec.threads, framework=not spec.forks_runners)
    seed_everything(spec.seed, framework=not spec.forks_runners)
    print(f"[navctl] step {spec.step_id} (pid {os.getpid()})", flush=True)
    try:
        module_name, func_name = spec.function.split(":")
        func = getattr(importlib.import_module(module_name), func_name)
        set_threads(spec.threads, framework=not spec.forks_runners)  # the step module may have imported torch
        metrics: Any = func(ctx) or {}
        artifacts = [Artifact(path=p, sha256=sha256_path(workspace / p)) for p in ctx.artifacts]
        # validated as the kind's metrics here, before the parent reads them: a step that reports what its
        # kind does not know fails here, in its own log, not in the parent's status
        result = StepResult(kind=spec.kind, state="ok", metrics=metrics, artifacts=artifacts, message=ctx.note)
        code = 0
    except StepUnavailable as exc:
        result = StepResult(kind=spec.kind, state="unavailable", message=str(exc))
        code = 0
    except KeyboardInterrupt:
        # Interrupted by the parent (Ctrl-C, or a timeout's first signal): no result, so the parent
        # records the step as pending or timed out, never as a failure of the model.
        print(f"[navctl] step {spec.step_id}: interrupted", flush=True)
        return 130
    except Exception as exc:
        tb = traceback.TracebackException.from_exception(exc)
        where = _where(exc, spec.recipe_dir)
        known = isinstance(exc, StepFailed)
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        limit = MAX_KNOWN_REASON_CHARS if known else MAX_REASON_CHARS
        if len(first) > limit:  # e.g. a tracer error that prints whole tensors
            first = first[:limit] + "..."
        message = first if known else f"{type(exc).__name__}: {first}".rstrip(": ")
        if isinstance(exc, MemoryError) and spec.memory_limit:
            message += f" (the step reached its step_memory_limit of {format_size(spec.memory_limit)})"
        traceback.print_exception(exc)
        result = StepResult(
            kind=spec.kind,
            state="rejected" if isinstance(exc, StepRejected) else "failed",
            metrics=exc.metrics if known else {},
            message=message,
            error=ErrorRecord(type=type(exc).__name__, message=str(exc), where=where, traceback="".join(tb.format())),
        )
        code = 0 if isinstance(exc, StepRejected) else 1
    result.peak_rss_mb = peak_rss_mb()
    result.cuda_peak_mb = _cuda_peak_mb()
    write_atomic(result_path, result.model_dump_json(indent=2))
    print(f"[navctl] step {spec.step_id}: {result.state}", flush=True)
    return code


def _cuda_peak_mb() -> float | None:
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_initialized():
            return round(torch.cuda.max_memory_allocated() / (1 << 20), 1)
    except Exception:  # noqa: BLE001 - a figure, never a reason to fail the step
        pass
    return None


def main(argv: list[str]) -> int:
    faulthandler.enable()
    if len(argv) != 1:
        print("usage: python -m navctl.steps SPEC.json", file=sys.stderr)
        return 2
    return run_spec(Path(argv[0]).resolve())
