"""`navctl loadtest`: serve one format of a package through a real Triton server, put load on it, and
answer "how much can this serve within my p99 budget, and with which batching settings".

Each load point is measured in windows until they agree (perf_analyzer's rule); the driver's own floor
is measured against a model that does nothing; the server's queue/compute split comes from Triton's
statistics. Results go into the package's status.yaml (`loadtest`), where status, report and diff read them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from navctl import stopping
from navctl.contract.feeds import feed_at
from navctl.errors import EnvironmentProblem, UsageError
from navctl.loadtest import driver, perf_analyzer
from navctl.loadtest.server import NULL_MODEL, ServedModel
from navctl.loadtest.shape import outside_ranges, request_shape
from navctl.loadtest.stats import read_stats, split_between
from navctl.plan.environment import cpu_name, module_available
from navctl.status import LoadPoint, LoadtestInfo, LoadtestRun, ServingConfig
from navctl.triton.merging import batched, check_preferred, merging, note, why_not

# Binary search over request rate for the latency budget: at most this many probes, stopping when the
# bracket is narrower than this fraction of its upper end.
BUDGET_PROBES = 6
BUDGET_RESOLUTION = 0.05
# An open-loop probe passes only when the server answered nearly all it was sent.
ANSWERED_FRACTION = 0.9


@dataclass
class LoadtestOptions:
    key: str | None = None
    strategy: str = "max-throughput"
    concurrency: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    request_rates: list[float] = field(default_factory=list)  # open loop instead of concurrency
    latency_budget_ms: float | None = None
    duration_s: float = 5.0  # the most one point may take; it stops earlier once its windows agree
    window_s: float | None = None  # default: a fifth of duration_s
    warmup_s: float = 0.5
    protocol: str = "http"
    batch: int = 1
    shape: str | None = None  # typical (None), min, max or INPUT:DIMS,... (navctl.loadtest.shape)
    config: ServingConfig = field(default_factory=ServingConfig)
    tune: bool = False
    tune_budget_s: float = 120.0
    tune_delays_us: list[int] = field(default_factory=lambda: [0, 100, 500, 2000])
    tune_instances: list[int] = field(default_factory=lambda: [1, 2])
    driver: str = "auto"  # auto | navctl | perf_analyzer
    seed: int = 0
    merging_asked: bool | None = None  # --dynamic-batching / --no-dynamic-batching / neither (follow the model)

    @property
    def window(self) -> float:
        return self.window_s or max(0.2, self.duration_s / 5)


@dataclass
class _Target:
    """What every request sends, and where."""

    package: Path
    key: str
    name: str
    inputs: dict[str, np.ndarray]
    batching: bool
    profiled_best: list[int]  # the profile's batch sizes by throughput, best first
    config: ServingConfig  # the recipe's serving settings, dynamic batching off where it cannot merge
    note: str = ""  # why requests are never merged, when the batch probe ruled it out
    shape_name: str = "typical"  # the shape every request sends (navctl.loadtest.shape)
    shape_notes: list[str] = field(default_factory=list)  # sizes beyond what correctness checked


def _target(package_path: Path, options: LoadtestOptions) -> _Target:
    from navctl.nav import load

    with load(package_path) as package:
        servable = package.candidates
        if not servable:
            raise UsageError(
                f"{package_path}: no format passed its correctness check, so none can be served for a load test"
            )
        key = options.key or package.best(options.strategy)
        if key not in servable:
            raise UsageError(f"{package_path}: {key} is not servable (not correct); servable: {', '.join(servable)}")
        io = package.io
        samples, _ = package.samples()
        batching = batched(io)
        shape, batch = request_shape(io, options.shape, options.batch)
        if not batching and batch != 1:
            raise UsageError(f"{package_path}: --batch {batch}: a request holds one sample: {why_not(io)}")
        options.batch = batch
        config = options.config
        asked = config.max_batch_size, config.preferred_batch_sizes
        if not merging(io, options.merging_asked, *asked, "navctl loadtest"):
            config = config.model_copy(update={"dynamic_batching": False})
        feed = feed_at(samples, io.inputs, shape, batch if batching else None, io.batch_axis)
        inputs = {}
        for meta in io.inputs:
            value = feed[meta.name]
            if batching and value.ndim == 1:  # one value per sample travels as [batch, 1] (serve's rule)
                value = value.reshape(-1, 1)
            inputs[meta.name] = np.ascontiguousarray(value)
        profile = package.status.results[key].profile
        best = [r.batch_size for r in sorted(profile, key=lambda r: -r.throughput)]
        max_batch = (config.max_batch_size or max(best, default=1)) if batching else 0
        if batching and options.batch > max_batch:
            raise UsageError(
                f"--batch {options.batch}: above the max batch size {max_batch}, so Triton would refuse every request",
                hint="--max-batch-size sets it (default: the largest batch size profiled)",
            )
        if config.dynamic_batching:
            check_preferred(config.preferred_batch_sizes, max_batch)
        return _Target(
            package_path,
            key,
            package.status.recipe.name,
            inputs,
            batching,
            best,
            config,
            note(io),
            shape.name,
            outside_ranges(io, shape),
        )


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


class _Session:
    """Measures points against one served configuration with the chosen driver."""

    def __init__(self, served: ServedModel, target: _Target, options: LoadtestOptions, use_pa: bool) -> None:
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
            say(_point_line(found))
            points.append(found)
        return points

    def budget_search(self, points: list[LoadPoint], say: Callable[[str], None]) -> list[LoadPoint]:
        """Open-loop probes between the best rate known to pass and the capacity the sweep saw."""
        budget = self.options.latency_budget_ms
        assert budget is not None
        batch = self.options.batch
        passing = [p for p in points if _meets(p, budget)]
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
            say(_point_line(found))
            probes.append(found)
            if _meets(found, budget) and found.throughput / batch >= rate * ANSWERED_FRACTION:
                low = rate
            else:
                high = rate
        return probes


def _meets(point: LoadPoint, budget_ms: float) -> bool:
    return point.p99_ms is not None and point.p99_ms <= budget_ms and not point.errors and not point.dropped


def _point_line(point: LoadPoint) -> str:
    unit = "in flight" if point.mode == "concurrency" else "req/s sent"
    flag = "" if point.stable else " (unstable)"
    split = ""
    if point.server:
        split = f", server queue {point.server.queue_ms:.3g} ms + compute {point.server.compute_ms:.3g} ms"
    return (
        f"{point.level:g} {unit}: {point.throughput:,.1f} infer/s, p50 {point.p50_ms or 0:.3g} ms, "
        f"p99 {point.p99_ms or 0:.3g} ms{split}{flag}"
    )


def _within(points: list[LoadPoint], budget_ms: float | None) -> LoadPoint | None:
    if budget_ms is None:
        return None
    passing = [p for p in points if _meets(p, budget_ms)]
    return max(passing, key=lambda p: p.throughput) if passing else None


def _score(run: LoadtestRun, budget_ms: float | None) -> float:
    if budget_ms is not None:
        return run.within_budget.throughput if run.within_budget else 0.0
    return max((p.throughput for p in run.points if not p.errors), default=0.0)


def tuning_grid(options: LoadtestOptions, target: _Target) -> list[ServingConfig]:
    """No dynamic batching; dynamic batching at each queue delay (preferred sizes: the profile's best two
    above 1, within the max batch size); then more instances of the best of those, added by `tune` once it
    knows that best."""
    base = options.config
    ceiling = base.max_batch_size or max(target.profiled_best, default=1)
    preferred = sorted(b for b in target.profiled_best[:3] if 1 < b <= ceiling)[:2]
    grid = [base.model_copy(update={"dynamic_batching": False, "preferred_batch_sizes": [], "instances": 1})]
    if target.batching:
        grid += [
            base.model_copy(
                update={
                    "dynamic_batching": True,
                    "max_queue_delay_us": d,
                    "preferred_batch_sizes": preferred,
                    "instances": 1,
                }
            )
            for d in options.tune_delays_us
        ]
    return grid


def run_loadtest(package_path: Path, options: LoadtestOptions, say: Callable[[str], None] = print) -> LoadtestInfo:
    with stopping.stoppable():
        return _run_loadtest(package_path, options, say)


def _run_loadtest(package_path: Path, options: LoadtestOptions, say: Callable[[str], None]) -> LoadtestInfo:
    if not (module_available("pytriton") and module_available("tritonclient")):
        raise EnvironmentProblem(
            "navctl loadtest needs PyTriton and tritonclient", hint="pip install 'navctl[triton]' (numpy < 2)"
        )
    use_pa = options.driver == "perf_analyzer" or (options.driver == "auto" and perf_analyzer.available())
    if options.driver == "perf_analyzer" and not perf_analyzer.available():
        raise EnvironmentProblem("perf_analyzer is not on PATH", hint="use --driver navctl (tritonclient asyncio)")
    from navctl.loadtest.generation_run import is_decoder_package, run_generation_loadtest

    if is_decoder_package(package_path):  # generate requests: tokens/s and time to first token
        return run_generation_loadtest(package_path, options, say)
    target = _target(package_path, options)
    if target.note:
        say(target.note)
    sent = {name: list(value.shape) for name, value in target.inputs.items()}
    say(f"every request sends {', '.join(f'{n} {d}' for n, d in sent.items())} ({target.shape_name} shape)")
    for line in target.shape_notes:
        say(f"note: {line}")
    info = LoadtestInfo(
        key=target.key,
        protocol=options.protocol,  # type: ignore[arg-type]
        driver="perf_analyzer" if use_pa else f"navctl (tritonclient.{options.protocol}.aio)",
        batch=options.batch,
        shape_name=target.shape_name,
        shapes=sent,
        latency_budget_ms=options.latency_budget_ms,
        machine=cpu_name(),
    )
    configs = tuning_grid(options, target) if options.tune else [target.config]
    started = time.monotonic()
    tried_instances = False
    while configs:
        config = configs.pop(0)
        say(f"serving {target.key} with {config.describe()}")
        with ServedModel(package_path, target.key, target.name, config) as served:
            session = _Session(served, target, options, use_pa)
            if info.floor is None:
                info.floor = session.floor()
                say(f"driver floor (a model that does nothing): {_point_line(info.floor)}")
            points = session.sweep(say)
            if options.latency_budget_ms is not None and not options.tune:
                points += session.budget_search(points, say)
        info.runs.append(
            LoadtestRun(config=config, points=points, within_budget=_within(points, options.latency_budget_ms))
        )
        if options.tune and time.monotonic() - started > options.tune_budget_s and configs:
            say(f"tuning budget ({options.tune_budget_s:g}s) spent; {len(configs)} configuration(s) not tried")
            break
        if options.tune and not configs and not tried_instances:
            tried_instances = True
            best = max(info.runs, key=lambda r: _score(r, options.latency_budget_ms)).config
            configs = [best.model_copy(update={"instances": n}) for n in options.tune_instances if n != best.instances]
    best_run = max(info.runs, key=lambda r: _score(r, options.latency_budget_ms))
    info.best = best_run.config
    info.answer = answer(info)
    info.finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return info


def answer(info: LoadtestInfo) -> str:
    """The line users came for, printed first, with what each request sent."""
    sent = ", ".join(f"{name} {dims}" for name, dims in info.shapes.items())
    return _answer(info) + (f"; each request sent {sent} ({info.shape_name} shape)" if sent else "")


def _answer(info: LoadtestInfo) -> str:
    budget = info.latency_budget_ms
    if budget is None:
        run = max(info.runs, key=lambda r: _score(r, None))
        top = max(run.points, key=lambda p: p.throughput)
        return (
            f"{info.key}: at most {top.throughput:,.1f} infer/s measured (p99 {top.p99_ms or 0:.3g} ms at "
            f"{_level(top)}) with {run.config.describe()}"
        )
    winners = [r for r in info.runs if r.within_budget is not None]
    if not winners:
        seen = [p.p99_ms for r in info.runs for p in r.points if p.p99_ms is not None]
        best_p99 = f"{min(seen):.3g} ms" if seen else "none measured"
        return f"{info.key}: no measured load kept p99 within {budget:g} ms; the lowest p99 seen was {best_p99}"
    run = max(winners, key=lambda r: _score(r, budget))
    point = run.within_budget
    assert point is not None
    return (
        f"{info.key}: {point.throughput:,.1f} infer/s within p99 {budget:g} ms (p99 {point.p99_ms:.3g} ms at "
        f"{_level(point)}) with {run.config.describe()}"
    )


def _level(point: LoadPoint) -> str:
    return f"concurrency {point.level:g}" if point.mode == "concurrency" else f"{point.level:g} req/s"


def record(package_path: Path, info: LoadtestInfo) -> None:
    """Keep the results in the package, where `navctl status`, `report` and `diff` read them."""
    from navctl.package import read_package_status, replace_package_status

    status = read_package_status(package_path)
    status.loadtest = info
    replace_package_status(package_path, status)


def apply_loadtest(package: Path, options, say: Callable[[str], None]) -> None:
    """The format and best batching `navctl loadtest` found, in place of `navctl triton`'s options."""
    from navctl.package import read_package_status

    found = read_package_status(package).loadtest
    if found is None or found.best is None:
        raise UsageError(
            f"{package} holds no load-test results", hint=f"navctl loadtest {package} --tune, then rerun this"
        )
    if options.key is not None and options.key != found.key:
        raise UsageError(f"the load test served {found.key}, not {options.key}; drop --format or rerun the load test")
    best = found.best
    options.key = found.key
    options.dynamic_batching = best.dynamic_batching
    options.max_queue_delay_us = best.max_queue_delay_us
    options.preferred_batch_sizes = list(best.preferred_batch_sizes)
    options.instances = best.instances
    options.max_batch_size = best.max_batch_size or options.max_batch_size
    say(f"batching from the load test of {found.key}: {best.describe()}")
