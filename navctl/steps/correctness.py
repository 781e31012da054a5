"""The correctness step: run a format on every sample and compare with the source model's outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from navctl.contract.step import CORRECTNESS_OUTPUTS
from navctl.contract.tensors import save_arrays
from navctl.records.results import CorrectnessResult, OutputError
from navctl.steps import padding
from navctl.steps.bound_checks import bounds_summary, judge_bounds, run_bounds
from navctl.steps.calibration import checked_indices
from navctl.steps.child import StepContext, StepFailed, StepRejected
from navctl.steps.common import recorded_samples, runner_for
from navctl.steps.gate_strength import input_spread, judge
from navctl.steps.similarity import cosine, looks_like_scores, top1_matches


def compare(
    outputs: list[dict[str, np.ndarray]],
    reference: list[dict[str, np.ndarray]],
    tolerances: dict[str, tuple[float, float] | None],
    gate: dict[str, Any] | None = None,
    *,
    batch_axis: int | None = 0,
    spread_from: list[dict[str, np.ndarray]] | None = None,
    padded: dict[str, list[np.ndarray]] | None = None,
) -> CorrectnessResult:
    """Elementwise `|out - ref| <= atol + rtol * |ref|` per output over all samples, and with a `gate`
    (reduced precision) cosine similarity and top-1 agreement floors; a None tolerance skips the
    elementwise check (a gate without atol/rtol).

    Each verdict also says how much it proves (navctl.steps.gate_strength): the output's input-driven
    spread, measured over `spread_from` (default: `reference`) with inputs along `batch_axis` (None:
    whole samples), and `proves_little` on a pass that the format's error or the gate's looseness makes
    weak.

    `padded`: per output and sample, the positions not compared (navctl.steps.padding): every figure
    leaves them out, the gate's cosine included.

    max_rel only counts elements whose reference is non-zero, so zeros never give inf or NaN.
    NaN/Inf in an output, or a shape, dtype or name mismatch, fails with both sides shown.
    """
    ref_names = list(reference[0]) if reference else []
    got_names = list(outputs[0]) if outputs else []
    if got_names != ref_names:
        return CorrectnessResult(passed=False, problem=f"outputs {got_names} but the source model gives {ref_names}")
    per_output: dict[str, OutputError] = {}
    for name in ref_names:
        tolerance = tolerances.get(name, (1e-4, 1e-3))
        atol, rtol = tolerance if tolerance is not None else (None, None)
        got = [out[name] for out in outputs]
        want = [ref[name] for ref in reference]
        mismatch = next(
            (f"sample {i}: {m}" for i, (g, w) in enumerate(zip(got, want, strict=True)) if (m := _mismatch(g, w))), ""
        )
        if mismatch:
            per_output[name] = OutputError(
                max_abs=None, max_rel=None, atol=atol, rtol=rtol, passed=False, problem=mismatch
            )
            continue
        keep = [~pad for pad in padded[name]] if padded and name in padded else None
        if keep is not None:  # the same values at padding: no element there moves any figure
            got = [np.where(k, g, w) for g, w, k in zip(got, want, keep, strict=True)]
        figures = _error_figures(got, want, atol, rtol, keep)
        exceeded_at = figures.pop("exceeded_at")
        problems = [] if exceeded_at is None else [f"first exceeded on sample {exceeded_at}"]
        if gate is not None:
            if figures["cosine"] is not None and figures["cosine"] < gate["min_cosine"]:
                problems.append(f"cosine {figures['cosine']:.4f} < {gate['min_cosine']:g}")
            if figures["top1"] is not None and figures["top1"] < gate["min_top1"]:
                problems.append(f"top-1 agreement {figures['top1']:.1%} < {gate['min_top1']:.1%}")
        spread = input_spread([ref[name] for ref in spread_from or reference], batch_axis)
        floor = gate["min_top1"] if gate is not None and figures["top1"] is not None else None
        per_output[name] = OutputError(
            atol=atol,
            rtol=rtol,
            passed=not problems,
            problem="; ".join(problems),
            **figures,
            **_strength(got, want, spread, (atol, rtol), floor, figures["max_abs"], passed=not problems),
        )
    warnings = [f"output '{n}': {o.warning}" for n, o in per_output.items() if o.warning]
    return CorrectnessResult(
        passed=all(o.passed for o in per_output.values()),
        outputs=per_output,
        warnings=warnings,
        proves_little=any(o.proves_little for o in per_output.values()),
    )


def _error_figures(
    got: list[np.ndarray],
    want: list[np.ndarray],
    atol: float | None,
    rtol: float | None,
    keep: list[np.ndarray] | None = None,
) -> dict[str, Any]:
    """`keep`: per sample, the elements compared (padding left out); mean error and cosine count those only."""
    max_abs = max_rel = total = 0.0
    count = matched = rows = 0
    exceeded_at: int | None = None
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        g64, w64 = g.astype(np.float64), w.astype(np.float64)
        if looks_like_scores(w) and keep is None:  # a [batch, sequence] output with padding is no class score
            hits, n = top1_matches(g64, w64)
            matched, rows = matched + hits, rows + n
        if not g64.size:
            continue
        diff = np.abs(g64 - w64)
        max_abs = max(max_abs, float(diff.max()))
        total, count = total + float(diff.sum()), count + (int(keep[i].sum()) if keep is not None else diff.size)
        nonzero = np.abs(w64) > 0
        if nonzero.any():
            max_rel = max(max_rel, float((diff[nonzero] / np.abs(w64[nonzero])).max()))
        if atol is not None and exceeded_at is None and not np.all(diff <= atol + (rtol or 0.0) * np.abs(w64)):
            exceeded_at = i
    numeric = bool(want) and want[0].dtype.kind in "fciub"
    return {
        "max_abs": max_abs,
        "max_rel": max_rel,
        "mean_abs": total / count if count else 0.0,
        "cosine": cosine(_kept(got, keep), _kept(want, keep)) if numeric else None,
        "top1": matched / rows if rows else None,
        "exceeded_at": exceeded_at,
    }


def _kept(arrays: list[np.ndarray], keep: list[np.ndarray] | None) -> np.ndarray:
    if keep is None:
        return np.concatenate([a.ravel() for a in arrays])
    return np.concatenate([a[k] for a, k in zip(arrays, keep, strict=True)])


def _strength(
    got: list[np.ndarray],
    want: list[np.ndarray],
    spread: float | None,
    tolerance: tuple[float | None, float | None],
    top1_floor: float | None,
    max_abs: float,
    passed: bool,
) -> dict[str, Any]:
    """The reference's figures and how much a pass proves; a failed check did its job, so only a pass
    is called weak."""
    atol, rtol = tolerance
    strength = judge(got, want, spread, atol=atol, rtol=rtol, top1_floor=top1_floor)
    weakness = strength.pop("weakness")
    reference = _reference_figures(want, max_abs, atol or 0.0)
    if passed and weakness and not reference.get("warning"):
        reference["warning"] = f"the pass proves little: {weakness}"
    return {**reference, **strength, "proves_little": passed and bool(reference.get("warning"))}


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
    if refs[0].dtype.kind in "biu" and spread == 0.0:  # labels, masks, indices: whole steps, where atol means nothing
        value = bool(values[0]) if refs[0].dtype.kind == "b" else int(values[0])
        warning = (
            f"vacuous check: the reference is {value} everywhere on these samples, so a format that always "
            "outputs that passes too; use samples on which this output varies"
        )
    elif ref_max <= atol:
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
        if o.max_abs is None or o.atol is None or not o.problem.startswith("first exceeded"):
            parts.append(f"output '{name}': {o.problem}")
        else:
            parts.append(
                f"output '{name}': max abs error {o.max_abs:.3g}, max rel {o.max_rel:.3g} "
                f"above atol {o.atol:g} + rtol {o.rtol:g} ({o.problem})"
            )
    return "; ".join(parts)


def check(ctx: StepContext) -> dict[str, Any]:
    io, inputs, reference = recorded_samples(ctx)
    options = ctx.spec.options
    gate = options.gate.model_dump() if options.gate else None  # compare() takes the floors as plain data
    tolerances = {name: tuple(value) for name, value in options.tolerances.items()}
    indices = list(range(len(inputs)))
    if options.gate is not None:
        tolerances = {name: tuple(value) if value else None for name, value in options.gate.tolerances.items()}
        indices = checked_indices(len(inputs), options.gate.split)
    runner = runner_for(ctx, ctx.spec.runner, io)
    outputs = []
    with runner:
        for i in indices:
            try:
                outputs.append(runner.infer(inputs[i]))
            except Exception as exc:
                # StepFailed, not type(exc)(...): some exception types take more than a message
                raise StepFailed(f"{ctx.spec.runner} failed on sample {i}: {type(exc).__name__}: {exc}") from exc
        bounds = run_bounds(ctx, runner, io)
    if options.keep_outputs:
        folder = Path("steps") / ctx.spec.step_id / CORRECTNESS_OUTPUTS
        for i, out in zip(indices, outputs, strict=True):
            save_arrays(ctx.path(f"{folder}/{i}.npz"), [out[n] for n in io.output_names if n in out])
            ctx.add_artifact(f"{folder}/{i}.npz")
    batch_axis = io.batch_axis if io.batching else None
    checked, wanted = [inputs[i] for i in indices], [reference[i] for i in indices]
    mask = padding.mask_input(io, checked, options.padding_mask)
    padded = padding.padding_of(io, mask, checked, wanted) if mask else {}
    result = compare(outputs, wanted, tolerances, gate, batch_axis=batch_axis, spread_from=reference, padded=padded)
    result.padding = padding.describe(mask, checked, padded) if mask else ""
    samples_passed = result.passed
    judge_bounds(
        result,
        checked,
        bounds,
        lambda o, r, f: compare(
            o,
            r,
            tolerances,
            gate,
            batch_axis=batch_axis,
            spread_from=reference,
            padded=padding.padding_of(io, mask, f, r) if mask else None,
        ),
        summary,
    )
    if options.gate is not None:
        result.precision, result.gate = options.gate.precision, options.gate.describe
        result.calibration = "split" if options.gate.split else "factory"
        if len(indices) < len(inputs):
            result.samples = indices
    metrics = {"correctness": result.model_dump(mode="json")}
    if not result.passed:
        reason = "; ".join(filter(None, [summary(result) if not samples_passed else "", bounds_summary(result)]))
        if options.gate is not None:
            raise StepRejected(f"rejected ({options.gate.precision} gate): {reason}", metrics)
        raise StepFailed(f"not correct: {reason}", metrics)
    return metrics
