"""The pure rules of profiling: when windows agree, and when the batch sweep stops."""

from __future__ import annotations


def windows_stable(throughputs: list[float], windows: int, stability_pct: float) -> bool:
    """The last `windows` window throughputs each lie within `stability_pct`% of their mean."""
    if len(throughputs) < windows:
        return False
    last = throughputs[-windows:]
    mean = sum(last) / len(last)
    if mean <= 0:
        return False
    return all(abs(t - mean) / mean * 100.0 <= stability_pct for t in last)


def sweep_stop_reason(points: list[tuple[int, float]], gain_pct: float, patience: int, predict: bool = True) -> str:
    """Why the auto sweep stops after these (batch size, throughput) points, or '' to go on.

    Give stable points only: an unstable point neither extends nor ends a sweep. A size that fails to
    beat the best before it by `gain_pct`% is a miss; `patience + 1` misses in a row end the sweep.
    With `predict`, the sweep ends at the second miss in a row when the latency of the last two sizes,
    extended as a straight line (fixed cost + cost per sample), puts the throughput ceiling
    (1 / cost per sample) less than half the gain above the best: no larger size can count then.
    A single miss never ends a sweep this way (one noisy point bends the line), nor does a dip
    (a miss far below the best).
    """
    best = 0.0
    misses = 0
    for _, value in points:
        if best == 0.0 or value > best * (1.0 + gain_pct / 100.0):
            misses = 0
        else:
            misses += 1
        best = max(best, value)
    if misses > patience:
        return f"throughput gain under {gain_pct:g}% for {patience + 1} sizes"
    if predict and misses >= 2:
        ceiling = throughput_ceiling(points[-2], points[-1])
        within = points[-1][1] >= best * (1.0 - gain_pct / 100.0)
        if ceiling is not None and within and ceiling < best * (1.0 + gain_pct / 200.0):
            return (
                f"throughput levels off: latency grows linearly past batch {points[-2][0]}, "
                f"ceiling {ceiling:,.0f}/s, under {gain_pct / 2:g}% above the best"
            )
    return ""


def throughput_ceiling(a: tuple[int, float], b: tuple[int, float]) -> float | None:
    """The throughput a straight latency line through two (batch size, throughput) points tends to
    (None when latency does not grow with the batch: nothing to predict)."""
    (size_a, thr_a), (size_b, thr_b) = a, b
    if size_b <= size_a or thr_a <= 0 or thr_b <= 0:
        return None
    per_sample = (size_b / thr_b - size_a / thr_a) / (size_b - size_a)
    return 1.0 / per_sample if per_sample > 0 else None


def auto_batch_sizes(max_batch_size: int) -> list[int]:
    """Powers of two up to max_batch_size, plus max_batch_size itself when it is not one."""
    sizes = []
    size = 1
    while size <= max_batch_size:
        sizes.append(size)
        size *= 2
    if sizes[-1] != max_batch_size:
        sizes.append(max_batch_size)
    return sizes
