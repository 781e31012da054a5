"""Measuring load points against one served configuration: navctl's asyncio driver or perf_analyzer,
the driver's floor on the null model, the sweep, and the search for the latency budget."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from navctl import stopping
from navctl.loadtest import driver, perf_analyzer
from navctl.loadtest.answer import meets, point_line
from navctl.loadtest.server import NULL_MODEL, ServedModel
from navctl.loadtest.stats import read_stats, split_between
from navctl.loadtest.target import Target
from navctl.records.loadtest import LoadPoint

if TYPE_CHECKING:
    from navctl.loadtest.run import LoadtestOptions

# Binary search over request rate for the latency budget: at most this many probes, stopping when the
# bracket is narrower than this fraction of its upper end.
BUDGET_PROBES = 6
BUDGET_RESOLUTION = 0.05
# An open-loop probe passes only when the server answered nearly all it was sent.
ANSWERED_FRACTION = 0.9


def _sender(url: str, protocol: str, model: str, inputs: dict[str, np.ndarray]):
    """An async client and a `send()` coroutine function for one model (inputs encoded once)."""
    if protocol == "grpc":
        import tritonclient.grpc.aio as aio
        from tritonclient.grpc import InferInput
    else:
        import tritonclient.http.aio as aio
        from tritonclient.http import InferInput
    from tritonclient.utils import np_to_triton_dtype

    client = aio.InferenceServerClient(url, conn_limit=1024) if protocol == "http" else aio.InferenceServerClient(url)
    prepared = []
    for name, value in inputs.items():
        tensor = InferInput(name, list(value.shape), np_to_triton_dtype(value.dtype))
        tensor.set_data_from_numpy(value)
        prepared.append(tensor)

    async def send() -> None:
        await client.infer(model, prepared)

    return client, send


def _navctl_point(
    served: ServedModel, model: str, mode: str, level: float, options: LoadtestOptions, inputs: dict
) -> LoadPoint:
    before = read_stats(served.url("http"), model)

    async def measure() -> list[driver.Window]:
        client, send = _sender(served.url(options.protocol), options.protocol, model, inputs)
        try:
            if mode == "concurrency":
                return await driver.closed_loop(send, int(level), options.window, options.duration_s, options.warmup_s)
            return await driver.open_loop(
                send, level, options.window, options.duration_s, options.warmup_s, options.seed
            )
        finally:
            await client.close()

    windows = asyncio.run(measure())
    split = split_between(before, read_stats(served.url("http"), model))
    return driver.summarize(mode, level, windows, options.batch, split)


class Session:
    """Measures points against one served configuration with the chosen driver."""

    def __init__(self, served: ServedModel, target: Target, options: LoadtestOptions, use_pa: bool) -> None:
        self.served, self.target, self.options, self.use_pa = served, target, options, use_pa

    def point(self, mode: str, level: float) -> LoadPoint:
        if stopping.requested():
            raise KeyboardInterrupt
        if self.use_pa:
            before = read_stats(self.served.url("http"), self.target.name)
            window_ms = int(self.options.window * 1000)
            url = self.served.url(self.options.protocol)
            # perf_analyzer's --shape leaves out the batch axis (-b gives it)
            cut = 1 if self.target.batching else 0
            shapes = {n: list(v.shape[cut:]) for n, v in self.target.inputs.items()}
            found = perf_analyzer.measure(
                self.target.name, url, self.options.protocol, mode, level, self.options.batch, window_ms, shapes
            )
            found.server = split_between(before, read_stats(self.served.url("http"), self.target.name))
            return found
        return _navctl_point(self.served, self.target.name, mode, level, self.options, self.target.inputs)

    def floor(self) -> LoadPoint:
        """The null model at concurrency 1, always with navctl's driver: the client and server's own cost."""
        if stopping.requested():
            raise KeyboardInterrupt
        return _navctl_point(self.served, NULL_MODEL, "concurrency", 1, self.options, self.target.inputs)

    def sweep(self, say: Callable[[str], None]) -> list[LoadPoint]:
        mode = "request-rate" if self.options.request_rates else "concurrency"
        levels = self.options.request_rates or [float(c) for c in self.options.concurrency]
        points = []
        for level in levels:
            found = self.point(mode, level)
            say(point_line(found))
            points.append(found)
        return points

    def budget_search(self, points: list[LoadPoint], say: Callable[[str], None]) -> list[LoadPoint]:
        """Open-loop probes between the best rate known to pass and the capacity the sweep saw."""
        budget = self.options.latency_budget_ms
        assert budget is not None
        batch = self.options.batch
        passing = [p for p in points if meets(p, budget)]
        if not passing:
            return []  # not even the lightest load met it: probing lighter loads would not either
        low = max(p.throughput for p in passing) / batch
        high = max(p.throughput for p in points) / batch * 1.25
        probes = []
        for _ in range(BUDGET_PROBES):
            if high - low <= high * BUDGET_RESOLUTION:
                break
            rate = round((low + high) / 2, 1)
            found = self.point("request-rate", rate)
            say(point_line(found))
            probes.append(found)
            if meets(found, budget) and found.throughput / batch >= rate * ANSWERED_FRACTION:
                low = rate
            else:
                high = rate
        return probes
