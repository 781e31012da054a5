"""`navctl loadtest`: serve one format of a package through a real Triton server, put load on it, and
answer "how much can this serve within my p99 budget, and with which batching settings".

Each load point is measured in windows until they agree (perf_analyzer's rule); the driver's own floor
is measured against a model that does nothing; the server's queue/compute split comes from Triton's
statistics. Results go into the package's status.yaml (`loadtest`), where status, report and diff read them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from navctl import stopping
from navctl.errors import EnvironmentProblem
from navctl.loadtest import perf_analyzer
from navctl.loadtest.answer import answer, point_line, score, within
from navctl.loadtest.server import ServedModel
from navctl.loadtest.session import Session
from navctl.loadtest.target import Target, load_target
from navctl.plan.environment import cpu_name, module_available
from navctl.records.loadtest import LoadtestInfo, LoadtestRun, ServingConfig
from navctl.triton.merging import Serving


@dataclass
class LoadtestOptions(Serving):
    """`Serving`'s fields (its `name` unused: the served model is named after the recipe) and the load."""

    concurrency: list[int] = field(default_factory=lambda: [1, 2, 4, 8])
    request_rates: list[float] = field(default_factory=list)  # open loop instead of concurrency
    latency_budget_ms: float | None = None
    duration_s: float = 5.0  # the most one point may take; it stops earlier once its windows agree
    window_s: float | None = None  # default: a fifth of duration_s
    warmup_s: float = 0.5
    protocol: str = "http"
    batch: int = 1
    shape: str | None = None  # typical (None), min, max or INPUT:DIMS,... (navctl.loadtest.shape)
    tune: bool = False
    tune_budget_s: float = 120.0
    tune_delays_us: list[int] = field(default_factory=lambda: [0, 100, 500, 2000])
    tune_instances: list[int] = field(default_factory=lambda: [1, 2])
    driver: str = "auto"  # auto | navctl | perf_analyzer
    seed: int = 0

    @property
    def window(self) -> float:
        return self.window_s or max(0.2, self.duration_s / 5)


def tuning_grid(options: LoadtestOptions, target: Target) -> list[ServingConfig]:
    """No dynamic batching; dynamic batching at each queue delay (preferred sizes: the profile's best two
    above 1, within the max batch size); then more instances of the best of those, added by `tune` once it
    knows that best."""
    base = options.batching
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
    target = load_target(package_path, options)
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
            session = Session(served, target, options, use_pa)
            if info.floor is None:
                info.floor = session.floor()
                say(f"driver floor (a model that does nothing): {point_line(info.floor)}")
            points = session.sweep(say)
            if options.latency_budget_ms is not None and not options.tune:
                points += session.budget_search(points, say)
        info.runs.append(
            LoadtestRun(config=config, points=points, within_budget=within(points, options.latency_budget_ms))
        )
        if options.tune and time.monotonic() - started > options.tune_budget_s and configs:
            say(f"tuning budget ({options.tune_budget_s:g}s) spent; {len(configs)} configuration(s) not tried")
            break
        if options.tune and not configs and not tried_instances:
            tried_instances = True
            best = max(info.runs, key=lambda r: score(r, options.latency_budget_ms)).config
            configs = [best.model_copy(update={"instances": n}) for n in options.tune_instances if n != best.instances]
    best_run = max(info.runs, key=lambda r: score(r, options.latency_budget_ms))
    info.best = best_run.config
    info.answer = answer(info)
    info.finished_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return info
