"""One output's batch verdict: does the answer for two samples merged split back into each one's own,
along the inputs' batch axis (navctl.steps.batch_probe runs the model and asks this per output)."""

from __future__ import annotations

import numpy as np

from navctl.contract.records import BatchProbe


def judge(
    merged: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    axis: int,
    atol: float,
    rtol: float,
    sizes: tuple[int, int] | None = None,
) -> BatchProbe:
    """One output's verdict: per sample when `merged` splits at the first part's size into the parts'
    own answers, along the input's batch axis. `sizes`: the parts' input batch sizes, which the output's
    batch axis must hold (a server splits an answer by each request's batch size, not by its content)."""
    shapes = {"merged": list(merged.shape), "first": list(first.shape), "second": list(second.shape)}
    if merged.ndim == 0:
        return BatchProbe(shapes=shapes, reason="a scalar (shape []), one value for the whole batch")
    if sizes and _splits(merged, first, second, axis) and (first.shape[axis], second.shape[axis]) != sizes:
        # a detector's boxes[keep]: the detections of both parts, concatenated, split back by content
        return BatchProbe(
            shapes=shapes,
            reason=f"its axis {axis} does not hold the batch (length {first.shape[axis]} and "
            f"{second.shape[axis]} for parts of batch {sizes[0]} and {sizes[1]}, {merged.shape[axis]} merged): "
            "a server splits answers by each request's batch size",
        )
    if not _splits(merged, first, second, axis):
        if merged.shape == first.shape == second.shape:
            return BatchProbe(shapes=shapes, reason=f"no batch axis (shape {list(merged.shape)} at every batch)")
        elsewhere = _split_elsewhere(merged, first, second, axis, atol, rtol)
        return BatchProbe(
            shapes=shapes,
            reason=f"mixes samples (shape {list(merged.shape)} for the merged batch, {list(first.shape)} and "
            f"{list(second.shape)} for the parts alone: no split along the batch axis {axis}){elsewhere}",
        )
    worst, within = _split_error(merged, first, second, axis, atol, rtol)
    if within:
        return BatchProbe(max_abs=worst, shapes=shapes)
    return BatchProbe(
        max_abs=worst,
        shapes=shapes,
        reason=f"mixes samples (split back, the merged answer differs from the parts' own by up to {worst:.3g}; "
        f"atol {atol:g}, rtol {rtol:g})",
    )


def _splits(merged: np.ndarray, first: np.ndarray, second: np.ndarray, axis: int) -> bool:
    """`merged` has the parts' shapes but for `axis`, where it holds both."""
    return (
        merged.ndim == first.ndim == second.ndim > axis
        and merged.shape[axis] == first.shape[axis] + second.shape[axis]
        and all(merged.shape[i] == first.shape[i] == second.shape[i] for i in range(merged.ndim) if i != axis)
    )


def _split_error(
    merged: np.ndarray, first: np.ndarray, second: np.ndarray, axis: int, atol: float, rtol: float
) -> tuple[float, bool]:
    """(the largest difference between `merged` split at the first part's size and the parts' own answers,
    whether every element is within tolerance)."""
    head, tail = np.split(merged, [first.shape[axis]], axis=axis)
    worst, within = 0.0, True
    for got, own in ((head, first), (tail, second)):
        a, b = got.astype(np.float64), own.astype(np.float64)
        diff = np.abs(a - b)
        worst = max(worst, float(diff.max(initial=0.0)))
        within = within and bool(np.all(diff <= atol + rtol * np.abs(b)))
    return worst, within


def _split_elsewhere(
    merged: np.ndarray, first: np.ndarray, second: np.ndarray, axis: int, atol: float, rtol: float
) -> str:
    """The hint when an output answers per sample along another axis than the inputs' batch axis (a
    sequence-first RNN's inputs batch on axis 1, its head's output on axis 0): navctl merges and splits
    every input and output on one axis, so such a model stays unbatched, and the reader learns why."""
    for other in range(merged.ndim):
        if (
            other != axis
            and _splits(merged, first, second, other)
            and _split_error(merged, first, second, other, atol, rtol)[1]
        ):
            return (
                f"; it answers per sample along axis {other}: navctl merges and splits every input and output "
                "on the one batching.batch_axis"
            )
    return ""
