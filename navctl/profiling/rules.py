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


def sweep_should_stop(throughputs: list[float], gain_pct: float, patience: int) -> bool:
    """Stop the auto sweep when the last `patience + 1` sizes each failed to beat the best before
    them by `gain_pct`% (the first size under the threshold, then `patience` more tries)."""
    best = 0.0
    misses = 0
    for value in throughputs:
        if best == 0.0 or value > best * (1.0 + gain_pct / 100.0):
            misses = 0
        else:
            misses += 1
        best = max(best, value)
    return misses > patience


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
