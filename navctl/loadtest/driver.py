"""navctl's load generator on tritonclient's asyncio clients: closed loop (a fixed number of requests in
flight) or open loop (Poisson arrivals at a fixed rate), measured in windows until they agree, as
Triton's perf_analyzer does.

Latency is measured at the client, from just before the request is sent to its answer. The server's
own split (time queued vs computing) comes from Triton's statistics of the same interval.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np

from navctl.records.loadtest import LoadPoint, ServerSplit

# perf_analyzer's rule: a point is stable when this many consecutive windows agree within STABILITY_PCT.
STABLE_WINDOWS = 3
STABILITY_PCT = 10.0
# An open loop never holds more requests in flight than this; past it the server is overloaded anyway,
# and arrivals that would exceed it are counted as dropped rather than queued in the client.
MAX_IN_FLIGHT = 512


@dataclass
class Window:
    completed: list[float] = field(default_factory=list)  # latencies in seconds
    errors: int = 0
    dropped: int = 0
    seconds: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.completed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def mean_latency(self) -> float:
        return float(np.mean(self.completed)) if self.completed else float("inf")


def agree(windows: list[Window], pct: float = STABILITY_PCT) -> bool:
    """The last STABLE_WINDOWS windows have throughput and mean latency within pct of their mean."""
    if len(windows) < STABLE_WINDOWS:
        return False
    last = windows[-STABLE_WINDOWS:]
    for values in ([w.throughput for w in last], [w.mean_latency for w in last]):
        mean = sum(values) / len(values)
        if not np.isfinite(mean) or mean <= 0:
            return False
        if max(abs(v - mean) for v in values) > mean * pct / 100:
            return False
    return True


def summarize(mode: str, level: float, windows: list[Window], batch: int, split: ServerSplit | None) -> LoadPoint:
    """A point's figures from its last STABLE_WINDOWS windows (all of them when it never settled)."""
    stable = agree(windows)
    used = windows[-STABLE_WINDOWS:] if stable else windows
    latencies = np.array([lat for w in used for lat in w.completed]) * 1000.0
    seconds = sum(w.seconds for w in used)
    requests = int(latencies.size)

    def pct(q: float) -> float | None:
        return round(float(np.percentile(latencies, q)), 4) if requests else None

    return LoadPoint(
        mode=mode,
        level=level,
        requests=requests,
        throughput=round(requests * batch / seconds, 2) if seconds > 0 else 0.0,
        p50_ms=pct(50),
        p90_ms=pct(90),
        p95_ms=pct(95),
        p99_ms=pct(99),
        mean_ms=round(float(latencies.mean()), 4) if requests else None,
        errors=sum(w.errors for w in windows),
        dropped=sum(w.dropped for w in windows),
        windows=len(windows),
        stable=stable,
        server=split,
    )


Send = Callable[[], Awaitable[None]]


class _Recorder:
    """Collects completions into the current window."""

    def __init__(self) -> None:
        self.current = Window()

    def done(self, started: float, ok: bool) -> None:
        if ok:
            self.current.completed.append(time.perf_counter() - started)
        else:
            self.current.errors += 1

    def cut(self, seconds: float) -> Window:
        window, self.current = self.current, Window()
        window.seconds = seconds
        return window


async def _timed(send: Send, recorder: _Recorder) -> None:
    started = time.perf_counter()
    try:
        await send()
    except Exception:  # noqa: BLE001 - a failed request is counted, the load goes on
        recorder.done(started, ok=False)
    else:
        recorder.done(started, ok=True)


async def _windows(recorder: _Recorder, window_s: float, max_s: float, min_windows: int) -> list[Window]:
    """Cut windows until STABLE_WINDOWS agree (and at least min_windows passed) or max_s is spent."""
    windows: list[Window] = []
    begun = time.perf_counter()
    last = begun
    while True:
        await asyncio.sleep(window_s)
        now = time.perf_counter()
        windows.append(recorder.cut(now - last))
        last = now
        if len(windows) >= min_windows and agree(windows):
            return windows
        if now - begun + window_s > max_s:
            return windows


async def closed_loop(send: Send, concurrency: int, window_s: float, max_s: float, warmup_s: float) -> list[Window]:
    """`concurrency` workers, each sending its next request when the last one answered."""
    recorder = _Recorder()
    stop = asyncio.Event()

    async def worker() -> None:
        while not stop.is_set():
            await _timed(send, recorder)

    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.sleep(warmup_s)
        recorder.cut(warmup_s)  # warm-up requests are not measured
        return await _windows(recorder, window_s, max_s, STABLE_WINDOWS)
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)


async def open_loop(
    send: Send, rate: float, window_s: float, max_s: float, warmup_s: float, seed: int = 0
) -> list[Window]:
    """Requests arrive as a Poisson process of `rate` per second, whether or not earlier ones answered."""
    recorder = _Recorder()
    rng = random.Random(seed)
    in_flight: set[asyncio.Task] = set()
    stop = asyncio.Event()

    async def arrivals() -> None:
        next_at = time.perf_counter()
        while not stop.is_set():
            next_at += rng.expovariate(rate)
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= MAX_IN_FLIGHT:
                recorder.current.dropped += 1
                continue
            task = asyncio.create_task(_timed(send, recorder))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    generator = asyncio.create_task(arrivals())
    try:
        await asyncio.sleep(warmup_s)
        recorder.cut(warmup_s)
        return await _windows(recorder, window_s, max_s, STABLE_WINDOWS)
    finally:
        stop.set()
        await asyncio.gather(generator, return_exceptions=True)
        if in_flight:  # answers after the last window are not measured; give them a moment, then cancel
            await asyncio.wait(in_flight, timeout=min(10.0, max_s))
            for task in list(in_flight):
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
