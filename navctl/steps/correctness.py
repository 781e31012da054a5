"""The correctness step: run a format on every sample and compare with the source model's outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from navctl.status import CorrectnessResult, OutputError
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.common import recorded_samples, runner_for
from navctl.steps.contract import CORRECTNESS_OUTPUTS
from navctl.steps.tensors import save_arrays


def compare(
    outputs: list[dict[str, np.ndarray]],
    reference: list[dict[str, np.ndarray]],
    tolerances: dict[str, tuple[float, float]],
) -> CorrectnessResult:
    """Elementwise `|out - ref| <= atol + rtol * |ref|` per output over all samples.

    max_rel only counts elements whose reference is non-zero, so zeros never give inf or NaN.
    NaN/Inf in an output, or a shape, dtype or name mismatch, fails with both sides shown.
    """
    ref_names = list(reference[0]) if reference else []
    got_names = list(outputs[0]) if outputs else []
    if got_names != ref_names:
        return CorrectnessResult(passed=False, problem=f"outputs {got_names} but the source model gives {ref_names}")
    per_output: dict[str, OutputError] = {}
    for name in ref_names:
        atol, rtol = tolerances.get(name, (1e-4, 1e-3))
        max_abs = max_rel = 0.0
        exceeded_at: int | None = None
        mismatch = ""
        for i, (out, ref) in enumerate(zip(outputs, reference, strict=True)):
            mismatch = _mismatch(out[name], ref[name])
            if mismatch:
                mismatch = f"sample {i}: {mismatch}"
                break
            got, want = out[name].astype(np.float64), ref[name].astype(np.float64)
            if not got.size:
                continue
            diff = np.abs(got - want)
            max_abs = max(max_abs, float(diff.max()))
            nonzero = np.abs(want) > 0
            if nonzero.any():
                max_rel = max(max_rel, float((diff[nonzero] / np.abs(want[nonzero])).max()))
            if exceeded_at is None and not np.all(diff <= atol + rtol * np.abs(want)):
                exceeded_at = i
        if mismatch:
            per_output[name] = OutputError(
                max_abs=None, max_rel=None, atol=atol, rtol=rtol, passed=False, problem=mismatch
            )
        else:
            per_output[name] = OutputError(
                max_abs=max_abs,
                max_rel=max_rel,
                atol=atol,
                rtol=rtol,
                passed=exceeded_at is None,
                problem="" if exceeded_at is None else f"first exceeded on sample {exceeded_at}",
                **_reference_figures([ref[name] for ref in reference], max_abs, atol),
            )
    warnings = [f"output '{n}': {o.warning}" for n, o in per_output.items() if o.warning]
    return CorrectnessResult(passed=all(o.passed for o in per_output.values()), outputs=per_output, warnings=warnings)


def _reference_figures(refs: list[np.ndarray], max_abs: float, atol: float) -> dict[str, Any]:
    """How much the check can tell: the reference's scale and spread, the error against that spread,
    and a warning when the check passes whatever a format computes (a constant or tiny reference)."""
    if not refs or refs[0].dtype.kind not in "fciub":
        return {}
    values = np.concatenate([np.asarray(r, dtype=np.float64).ravel() for r in refs])
    if not values.size:
        return {}
    ref_max = float(np.abs(values).max())
    spread = float(values.std())
    warning = ""
    if ref_max <= atol:
        warning = (
            f"vacuous check: the largest reference value ({ref_max:.3g}) is within atol ({atol:g}), so any output "
            "this small passes; lower atol for this output or check a model with meaningful weights"
        )
    elif spread == 0.0 or all(np.array_equal(refs[0], r) for r in refs[1:]) and len(refs) > 1:
        warning = "the reference is the same for every sample: the check cannot tell inputs apart"
    return {
        "ref_max_abs": ref_max,
        "ref_std": spread,
        "error_to_spread": max_abs / spread if spread > 0 else None,
        "warning": warning,
    }


def _mismatch(got: np.ndarray, want: np.ndarray) -> str:
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, source gives {list(want.shape)}"
    if got.dtype != want.dtype and not (got.dtype.kind == want.dtype.kind == "f"):
        return f"dtype {got.dtype}, source gives {want.dtype}"
    if got.dtype.kind in "fc" and not np.all(np.isfinite(got)):
        return f"output holds {'NaN' if np.isnan(got).any() else 'Inf'}"
    return ""


def summary(result: CorrectnessResult) -> str:
    if result.problem:
        return result.problem
    bad = [(n, o) for n, o in result.outputs.items() if not o.passed]
    parts = []
    for name, o in bad:
        if o.max_abs is None:
            parts.append(f"output '{name}': {o.problem}")
        else:
            parts.append(
                f"output '{name}': max abs error {o.max_abs:.3g}, max rel {o.max_rel:.3g} "
                f"above atol {o.atol:g} + rtol {o.rtol:g} ({o.problem})"
            )
    return "; ".join(parts)


def check(ctx: StepContext) -> dict[str, Any]:
    io, inputs, reference = recorded_samples(ctx)
    tolerances = {name: tuple(value) for name, value in ctx.spec.options.get("tolerances", {}).items()}
    runner = runner_for(ctx, ctx.spec.runner, io)
    outputs = []
    with runner:
        for i, feed in enumerate(inputs):
            try:
                outputs.append(runner.infer(feed))
            except Exception as exc:
                # StepFailed, not type(exc)(...): some exception types take more than a message
                raise StepFailed(f"{ctx.spec.runner} failed on sample {i}: {type(exc).__name__}: {exc}") from exc
    if ctx.spec.options.get("keep_outputs"):
        folder = Path("steps") / ctx.spec.step_id / CORRECTNESS_OUTPUTS
        for i, out in enumerate(outputs):
            save_arrays(ctx.path(f"{folder}/{i}.npz"), [out[n] for n in io.output_names if n in out])
            ctx.add_artifact(f"{folder}/{i}.npz")
    result = compare(outputs, reference, tolerances)
    metrics = {"correctness": result.model_dump(mode="json")}
    if not result.passed:
        raise StepFailed(f"not correct: {summary(result)}", metrics)
    return metrics
