"""Correctness at the bounds of the shape ranges: the samples the samples step made where the recorded
ones stop short (navctl.steps.shaped_feeds), checked like the recorded ones, and the shapes checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from navctl.contract.feeds import load_bounds
from navctl.contract.tensors import ModelIO
from navctl.records.results import BoundCheck, CorrectnessResult
from navctl.steps.child import StepContext, StepFailed

Feed = dict[str, np.ndarray]


def run_bounds(ctx: StepContext, runner: Any, io: ModelIO) -> dict[str, tuple[Feed, Feed, Feed]]:
    """bound name -> (inputs, the source's outputs, the runner's outputs)."""
    out = {}
    for name, (feed, reference) in load_bounds(ctx.workspace, io).items():
        try:
            got = runner.infer(feed)
        except Exception as exc:
            shapes = {n: list(v.shape) for n, v in feed.items()}
            raise StepFailed(
                f"{ctx.spec.runner} failed on the {name}-bound sample {shapes}: {type(exc).__name__}: {exc}"
            ) from exc
        out[name] = (feed, reference, got)
    return out


def judge_bounds(
    result: CorrectnessResult,
    checked: list[Feed],
    bounds: dict[str, tuple[Feed, Feed, Feed]],
    judge: Callable[[list[Feed], list[Feed], list[Feed]], CorrectnessResult],
    describe: Callable[[CorrectnessResult], str],
) -> None:
    """Record the shapes checked and each bound's verdict in `result` (`judge(outputs, references, inputs)`
    is the step's own comparison, padding left out as on the samples); a bound that fails fails the result."""
    shapes: list[dict[str, list[int]]] = []
    for feed in checked + [b[0] for b in bounds.values()]:
        dims = {n: list(v.shape) for n, v in feed.items()}
        if dims not in shapes:
            shapes.append(dims)
    result.shapes = shapes
    for name, (feed, reference, got) in bounds.items():
        verdict = judge([got], [reference], [feed])
        errors = [o.max_abs for o in verdict.outputs.values() if o.max_abs is not None]
        result.bounds.append(
            BoundCheck(
                name=name,
                shapes={n: list(v.shape) for n, v in feed.items()},
                passed=verdict.passed,
                max_abs=max(errors) if errors else None,
                problem="" if verdict.passed else describe(verdict),
            )
        )
        if not verdict.passed:
            result.passed = False


def bounds_summary(result: CorrectnessResult) -> str:
    """The failed bounds, for the step's message."""
    return "; ".join(f"at the {b.name} bound {b.shapes}: {b.problem}" for b in result.bounds if not b.passed)
