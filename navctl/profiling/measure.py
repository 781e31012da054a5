"""Measure one runner at one batch size: time-based warm-up, then windows until they agree.

Each request is timed with perf_counter around one `infer` call (host arrays in, host arrays out),
so CUDA runners are synchronised by the copy back before the clock is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from navctl.profiling.rules import MIN_WINDOW_REQUESTS, window_done, window_spread_pct, windows_stable
from navctl.records.results import ProfileRecord

__all__ = ["MIN_WINDOW_REQUESTS", "MeasureSettings", "measure", "profile_record", "run_window"]


@dataclass(frozen=True)
class MeasureSettings:
    warmup_s: float = 0.1
    window_ms: float = 25.0
    windows: int = 3
    stability_pct: float = 10.0
    max_trials: int = 10


def measure(
    infer: Callable[[], object],
    batch_size: int,
    settings: MeasureSettings,
    warmup_s: float | None = None,
    clock: Callable[[], float] = time.perf_counter,
    noise_pct: dict[int, float] | None = None,
) -> ProfileRecord:
    """`noise_pct`, when given, gets the spread of the kept windows at `batch_size` (rules.window_spread_pct)."""
    warm_until = clock() + (settings.warmup_s if warmup_s is None else warmup_s)
    infer()  # at least one call, even with no warm-up time: the first call at a new shape is slow
    while clock() < warm_until:
        infer()
    window_s = settings.window_ms / 1000.0
    window_latencies: list[list[float]] = []
    window_throughputs: list[float] = []
    window_times: list[float] = []
    stable = False
    for _ in range(settings.max_trials):
        latencies = run_window(infer, window_s, clock)
        window_latencies.append(latencies)
        window_times.append(sum(latencies))
        window_throughputs.append(len(latencies) * batch_size / window_times[-1] if window_times[-1] > 0 else 0.0)
        if windows_stable(window_throughputs, settings.windows, settings.stability_pct):
            stable = True
            break
    n = min(settings.windows, len(window_latencies))
    spread = window_spread_pct(window_throughputs[-n:])
    if noise_pct is not None:
        noise_pct[batch_size] = spread
    latencies = [lat for w in window_latencies[-n:] for lat in w]
    record = profile_record(batch_size, latencies, sum(window_times[-n:]), stable)
    record.spread_pct = round(spread, 2)
    return record


def run_window(
    infer: Callable[[], object], window_s: float, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Requests until `rules.window_done`: each request's latency in seconds (a runner process's window)."""
    latencies: list[float] = []
    start = clock()
    end = start
    while not window_done(len(latencies), end - start, window_s):
        t0 = clock()
        infer()
        end = clock()
        latencies.append(end - t0)
    return latencies


def profile_record(batch_size: int, latencies_s: list[float], elapsed_s: float, stable: bool) -> ProfileRecord:
    """The figures of one batch size from the request latencies of its kept windows (seconds)."""
    kept = np.array(latencies_s) * 1000.0
    p50, p90, p95, p99 = np.percentile(kept, [50, 90, 95, 99])
    mean = float(kept.mean())
    return ProfileRecord(
        batch_size=batch_size,
        mean_ms=mean,
        p50_ms=float(p50),
        p90_ms=float(p90),
        p95_ms=float(p95),
        p99_ms=float(p99),
        throughput=len(kept) * batch_size / elapsed_s if elapsed_s > 0 else 0.0,
        cv=float(kept.std() / mean) if mean > 0 else 0.0,
        stable=stable,
        requests=int(len(kept)),
    )
