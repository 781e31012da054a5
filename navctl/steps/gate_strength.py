"""How much a passed check proves: each output's input-driven spread, and when a pass proves little.

A check compares a format with the source on the recorded samples, and can only tell formats apart as
far as the outputs change with the input. Logits that sit on a large constant, or a classifier whose
bias picks one class for every input, give cosine 0.9999 and top-1 100% whatever a format does with
the input. `input_spread` measures that change: for each output element its standard deviation across
inputs (the rows of every sample along the batch axis; whole samples without batching), then the root
mean square over the elements. The overall spread of all elements (`ref_std`) mixes in how much
elements differ from each other, which no input moves.

A pass proves little when the format's error (root mean square) is at least `PROVES_LITTLE_RATIO` of
the input spread: the format then keeps less than three quarters (1 - 0.5^2) of the input-driven
variance, while answering another input's output would be off by only sqrt(2) times the spread. The
same ratio judges an elementwise tolerance whose allowance (atol + rtol * |ref|, root mean square over
the elements) would let such an error through, and a top-1 gate is weak on inputs that nearly all
predict one class: a format that always answered that class would score `TOP1_MAJORITY` or more, or the
gate's own floor.
"""

from __future__ import annotations

from typing import Any

import numpy as np

PROVES_LITTLE_RATIO = 0.5
TOP1_MAJORITY = 0.9


def input_units(arrays: list[np.ndarray], batch_axis: int | None) -> list[np.ndarray]:
    """One array per input (views, no copies): the rows of each sample along the batch axis, or whole
    samples."""
    units: list[np.ndarray] = []
    for array in arrays:
        array = np.asarray(array)
        if batch_axis is None or array.ndim <= batch_axis:
            units.append(array)
        else:
            units += list(np.moveaxis(array, batch_axis, 0))
    return units


def _groups(units: list[np.ndarray]) -> dict[tuple[int, ...], list[int]]:
    """Unit indices by shape: only inputs of one shape can be compared element by element."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, unit in enumerate(units):
        groups.setdefault(unit.shape, []).append(i)
    return groups


def input_spread(arrays: list[np.ndarray], batch_axis: int | None) -> float | None:
    """The RMS over elements of each element's standard deviation across inputs; None when fewer than two
    inputs of one shape exist, the output is not numeric, or it holds NaN/Inf.

    Accumulated input by input (a decoder's logits over every sample would not fit twice in memory), each
    against the first input of its shape, so a large constant part costs no precision."""
    if not arrays or np.asarray(arrays[0]).dtype.kind not in "fciub":
        return None
    sums: dict[tuple[int, ...], list] = {}  # shape -> [first input, sum of differences, of their squares, n]
    for unit in input_units(arrays, batch_axis):
        if not unit.size:
            continue
        if not np.all(np.isfinite(unit)):
            return None
        acc = sums.get(unit.shape)
        if acc is None:
            zeros = np.zeros(unit.shape)
            sums[unit.shape] = [unit.astype(np.complex128 if unit.dtype.kind == "c" else np.float64), zeros, zeros, 1]
            continue
        delta = unit - acc[0]
        acc[1] = acc[1] + delta
        acc[2] = acc[2] + np.square(np.abs(delta))
        acc[3] += 1
    total = 0.0
    count = 0
    for _, summed, squares, n in sums.values():
        if n < 2:
            continue
        variance = np.maximum(squares / n - np.square(np.abs(summed / n)), 0.0)
        total += float(variance.sum()) * n
        count += variance.size * n
    return float(np.sqrt(total / count)) if count else None


def rms_error(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    pairs = zip(got, want, strict=True)
    squares = sum(float(np.square(g.astype(np.float64) - w.astype(np.float64)).sum()) for g, w in pairs)
    count = sum(w.size for w in want)
    return float(np.sqrt(squares / count)) if count else 0.0


def _rms_allowed(want: list[np.ndarray], atol: float, rtol: float) -> float:
    """The error an elementwise tolerance lets through, as a root mean square like the error's."""
    squares = sum(float(np.square(atol + rtol * np.abs(w.astype(np.float64))).sum()) for w in want)
    count = sum(w.size for w in want)
    return float(np.sqrt(squares / count)) if count else atol


def top1_majority(want: list[np.ndarray]) -> tuple[float, int, int, int] | None:
    """(share, class, rows of that class, rows) of the reference's most common top-1 class."""
    classes = np.concatenate([np.argmax(w, axis=-1).ravel() for w in want]) if want else np.array([])
    if not classes.size:
        return None
    values, counts = np.unique(classes, return_counts=True)
    best = int(np.argmax(counts))
    return float(counts[best] / classes.size), int(values[best]), int(counts[best]), int(classes.size)


def judge(
    got: list[np.ndarray],
    want: list[np.ndarray],
    spread: float | None,
    *,
    atol: float | None,
    rtol: float | None,
    top1_floor: float | None,
) -> dict[str, Any]:
    """The strength figures of one output's check (`spread` from `input_spread`) and, under `weakness`,
    why a pass proves little ('' when it proves something). `top1_floor`: the gate's top-1 floor when
    top-1 agreement gates this output."""
    figures: dict[str, Any] = {"input_spread": spread, "error_to_input_spread": None, "top1_baseline": None}
    reasons: list[str] = []
    majority = top1_majority(want) if top1_floor is not None else None
    if majority is not None:
        share, label, hits, rows = majority
        figures["top1_baseline"] = share
        if share >= min(top1_floor, TOP1_MAJORITY):
            reasons.append(
                f"top-1 agreement cannot fail: {hits} of {rows} inputs give class {label}, so a format that "
                f"always answers {label} scores {share:.1%}"
            )
    if spread is None:
        return {**figures, "weakness": "; ".join(reasons)}
    error = rms_error(got, want)
    if spread == 0.0:
        reasons.insert(0, "the output does not change with the input: any format that returns it passes")
        return {**figures, "weakness": "; ".join(reasons)}
    figures["error_to_input_spread"] = error / spread
    if error >= PROVES_LITTLE_RATIO * spread:
        reasons.insert(
            0,
            f"the error (rms {error:.3g}) is {error / spread:.0%} of how much the output changes with the input "
            f"(input_spread {spread:.3g})",
        )
    elif atol is not None:
        allowed = _rms_allowed(want, atol, rtol or 0.0)
        if allowed >= PROVES_LITTLE_RATIO * spread:
            reasons.insert(
                0,
                f"the tolerance (atol + rtol * |ref|, rms {allowed:.3g}) lets through errors of {allowed / spread:.0%} "
                f"of how much the output changes with the input (input_spread {spread:.3g})",
            )
    return {**figures, "weakness": "; ".join(reasons)}


def perturbed_copy(
    reference: list[dict[str, np.ndarray]], spreads: dict[str, float | None], batch_axis: int | None, seed: int
) -> list[dict[str, np.ndarray]] | None:
    """The reference moved by about its input-driven spread: Gaussian noise of std `spreads[name]` on
    float outputs, and each input given the next input's value on other outputs (class ids, tokens).
    None when no output has a spread (fewer than two inputs of one shape): nothing says how far to go."""
    if all(spread is None for spread in spreads.values()):
        return None
    rng = np.random.default_rng(seed)
    copy = [dict(sample) for sample in reference]
    for name in reference[0] if reference else []:
        arrays = [sample[name] for sample in reference]
        if arrays[0].dtype.kind in "fc":
            std = spreads.get(name) or 0.0
            for sample, array in zip(copy, arrays, strict=True):
                sample[name] = (array + rng.normal(0.0, std, array.shape)).astype(array.dtype)
        else:
            for sample, array in zip(copy, _shifted(arrays, batch_axis), strict=True):
                sample[name] = array
    return copy


def _shifted(arrays: list[np.ndarray], batch_axis: int | None) -> list[np.ndarray]:
    """`arrays` with every input's unit replaced by the next unit of the same shape (cyclically)."""
    units = input_units(arrays, batch_axis)
    moved = list(units)
    for indices in _groups(units).values():
        for i, j in zip(indices, indices[1:] + indices[:1], strict=True):
            moved[i] = units[j]
    out, start = [], 0
    for array in arrays:
        if batch_axis is None or array.ndim <= batch_axis:
            out.append(moved[start])
            start += 1
        else:
            rows = array.shape[batch_axis]
            out.append(np.stack(moved[start : start + rows], axis=batch_axis) if rows else array)
            start += rows
    return out
