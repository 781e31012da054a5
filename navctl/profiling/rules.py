"""The pure rules of profiling: when a window ends, when windows agree, and when a batch sweep stops."""

from __future__ import annotations

from collections.abc import Mapping

# A window holds at least this many requests (one request's timing is not a throughput figure) ...
MIN_WINDOW_REQUESTS = 5
# ... unless its requests are slow: once a window has run SLOW_WINDOW_S, what it holds is enough (one
# request at least). The figure's noise is then judged over windows (windows_stable compares whole
# windows), never within one: a ResNet-18's batch 64 at 1 s a request cost 3 s a window with 3
# requests a window, and 30 s for one unstable point; its three windows of one request each cost 3 s.
# 0.1 s, not 0.25 s: on ONNX Runtime at 63 ms a request, navctl's figure stayed within 1.2% of a
# tight loop's either way, with the same spread over 5 profiles (benchmarks/profiler_accuracy.py
# --batches 4096), and a point cost 0.5 s, not 0.95 s; ResNet-18's side-by-side session, replayed
# alternately, took 7.0 s, not 11.1 s (medians of 3), with the same winners and figures.
SLOW_WINDOW_REQUESTS = 1
SLOW_WINDOW_S = 0.1
# An early stop compares a runner with the others at this many sizes at least: one size says nothing
# about how each runtime batches.
EARLY_STOP_MIN_SIZES = 2
EARLY_STOP_MARK = "slower than"
# A sweep cut short by the runner itself: it raised, crashed or hung at a size, or ran out of memory.
ERROR_STOP_MARK = "stopped by an error at"
MEMORY_STOP_MARK = "out of memory at batch size"


def window_done(requests: int, elapsed_s: float, window_s: float) -> bool:
    """A window ends once it has run `window_s` and holds MIN_WINDOW_REQUESTS requests, or
    SLOW_WINDOW_REQUESTS when it has run SLOW_WINDOW_S (whichever comes first)."""
    if elapsed_s < window_s:
        return False
    return requests >= MIN_WINDOW_REQUESTS or (requests >= SLOW_WINDOW_REQUESTS and elapsed_s >= SLOW_WINDOW_S)


def window_spread_pct(throughputs: list[float]) -> float:
    """How far the windows kept for a figure lie from their mean at most, in percent: the figure's noise."""
    if not throughputs:
        return 0.0
    mean = sum(throughputs) / len(throughputs)
    return max(abs(t - mean) for t in throughputs) / mean * 100.0 if mean > 0 else 0.0


def windows_stable(throughputs: list[float], windows: int, stability_pct: float) -> bool:
    """The last `windows` window throughputs each lie within `stability_pct`% of their mean."""
    if len(throughputs) < windows:
        return False
    last = throughputs[-windows:]
    mean = sum(last) / len(last)
    if mean <= 0:
        return False
    return all(abs(t - mean) / mean * 100.0 <= stability_pct for t in last)


def sweep_stop_reason(
    points: list[tuple[int, float]],
    gain_pct: float,
    patience: int,
    predict: bool = True,
    noise_pct: Mapping[int, float] | None = None,
) -> str:
    """Why the auto sweep stops after these (batch size, throughput) points, or '' to go on.

    Give stable points only: an unstable point neither extends nor ends a sweep. A size that fails to
    beat the best before it by `gain_pct`%, or by its own noise (`noise_pct[size]`: the spread of the
    windows its figure comes from) where that is larger, is a miss: a gain the figure's own noise could
    make is no evidence that throughput still grows (a ResNet-18 on ONNX Runtime went 94 -> 101/s at
    batch 16 with windows 8% apart). Demanding the gain plus the noise stopped real growth: +7% with
    windows 3% apart is a gain. Such a point does not raise the bar either: the next size is judged
    against the best figure before it (a ResNet-18 on ONNX Runtime went 91, 102/s with windows 9% apart,
    104/s: judged against 102, the sweep ended at batch 4 with 104/s, where it reaches 145/s at batch
    16). `patience` misses in a row end the sweep (the default 2: the second miss; 0 counts as 1).
    With `predict` and a patience over 2, the sweep ends at the second miss in a row when the latency
    of the last two sizes,
    extended as a straight line (fixed cost + cost per sample), puts the throughput ceiling
    (1 / cost per sample) less than half the gain above the best: no larger size can count then.
    A single miss never ends a sweep this way (one noisy point bends the line), nor does a dip
    (a miss far below the best).
    """
    noise_pct = noise_pct or {}
    best = 0.0
    misses = 0
    within_noise: list[str] = []
    for size, value in points:
        noise = noise_pct.get(size, 0.0)
        if best == 0.0 or value > best * (1.0 + max(gain_pct, noise) / 100.0):
            misses, within_noise = 0, []
        else:
            misses += 1
            if value > best * (1.0 + gain_pct / 100.0):
                gain = (value / best - 1) * 100
                within_noise.append(f"+{gain:.0f}% at batch {size} is within its noise ({noise:.0f}%)")
                continue  # nor does it raise the bar: the next size is judged against the last clear figure
        best = max(best, value)
    if misses >= max(patience, 1):
        why = f" ({'; '.join(within_noise)})" if within_noise else ""
        return f"throughput gain under {gain_pct:g}% for {misses} size{'s' if misses > 1 else ''} in a row{why}"
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


def clearly_slower(
    own: list[tuple[int, float, float]],
    others: dict[str, dict[int, float]],
    floor_pct: float,
    unstable: list[int] | None = None,
) -> str:
    """Why a runner may stop its sweep early, or '': at each of its sizes (at least EARLY_STOP_MIN_SIZES)
    some other runner was faster by more than the runner's own noise there.

    `own`: the runner's (batch size, throughput, noise %) at every size it measured stably: an unstable
    point is no evidence either way, so it neither ends a sweep nor keeps one going; `unstable`: the
    sizes it measured unstably, named in the reason as left out;
    `others`: each other candidate's stable throughput per batch size. The noise counts as at least
    `floor_pct` (the sweep's gain: a smaller difference is no evidence of a slower runtime).
    """
    if len(own) < EARLY_STOP_MIN_SIZES:
        return ""
    faster: list[str] = []
    worst_gap = float("inf")
    for size, throughput, noise_pct in own:
        here = {key: points[size] for key, points in others.items() if size in points}
        if not here:
            return ""
        best_key = max(here, key=lambda k: here[k])
        gap = (here[best_key] / throughput - 1.0) * 100.0 if throughput > 0 else float("inf")
        if gap <= max(noise_pct, floor_pct):
            return ""
        worst_gap = min(worst_gap, gap)
        if best_key not in faster:
            faster.append(best_key)
    sizes = ", ".join(str(size) for size, _, _ in own)
    if unstable:
        sizes = f"{sizes}; unstable at {', '.join(str(size) for size in unstable)}"
    measured = "measured stably" if unstable else "measured"
    return (
        f"{EARLY_STOP_MARK} {' / '.join(faster)} at every size {measured} ({sizes}): by {worst_gap:.0f}% or more, "
        "over its own noise"
    )
