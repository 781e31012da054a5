"""The profile step: one runner, one batch size after another, nothing else running.

With profiling.tune, the runner's alternative settings are swept too (within tune_budget_s) and
each batch size keeps its best record; every try is recorded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

import numpy as np

from navctl.contract.feeds import feed_at, sample_sizes
from navctl.contract.shapes import GridShape, dims_at, grid
from navctl.contract.tensors import ModelIO
from navctl.engine.launch import die_with_parent
from navctl.plan import registry
from navctl.profiling.grid import run_grid, sweep_grid
from navctl.profiling.interleave import MemberFailed
from navctl.profiling.measure import MeasureSettings, run_window
from navctl.profiling.rules import auto_batch_sizes
from navctl.profiling.sweep import SweepResult
from navctl.status import ProfileRecord
from navctl.steps.child import StepContext, peak_rss_mb, seed_everything, set_threads
from navctl.steps.common import recorded_samples, runner_for


def _settings(opts: dict[str, Any]) -> MeasureSettings:
    return MeasureSettings(**{k: opts[k] for k in ("warmup_s", "window_ms", "windows", "stability_pct", "max_trials")})


def _plan(io: ModelIO, inputs: list[dict[str, np.ndarray]], opts: dict[str, Any]):
    """(requested batch sizes, the batch sizes, the shapes: navctl.contract.shapes)."""
    shapes = grid(
        io.inputs, opts.get("shapes", "auto"), opts.get("selection_shape", "typical"), sample_sizes(inputs, io.inputs)
    )
    if not io.batching:
        return [], [1], shapes
    requested = opts.get("batch_sizes", "auto")
    sizes = auto_batch_sizes(opts["max_batch_size"]) if requested == "auto" else list(requested)
    return requested, sizes, shapes


def _feed(io: ModelIO, inputs: list[dict[str, np.ndarray]], shape: GridShape, size: int) -> dict[str, np.ndarray]:
    # samples whose other axes differ (e.g. sequence length) never share a batch: feed_at takes one shape
    return feed_at(inputs, io.inputs, shape, size if io.batching else None, io.batch_axis)


def _dims(io: ModelIO):
    return lambda shape, size: dims_at(io.inputs, shape, size if io.batching else None)


def measure(ctx: StepContext) -> dict[str, Any]:
    """One runner alone (a single candidate, tuning, or reproduce.sh of one profile step)."""
    io, inputs, _ = recorded_samples(ctx)
    opts = ctx.spec.options
    settings = _settings(opts)
    requested, sizes, shapes = _plan(io, inputs, opts)

    def run(overrides: dict | None) -> tuple[SweepResult, list[ProfileRecord]]:
        with runner_for(ctx, ctx.spec.runner, io, overrides) as runner:

            def make_infer(index: int, size: int):
                feed = _feed(io, inputs, shapes[index], size)
                return lambda: runner.infer(feed)

            return sweep_grid(
                make_infer,
                shapes,
                sizes,
                settings,
                _dims(io),
                auto=requested == "auto",
                gain_pct=opts.get("throughput_gain_pct", 5.0),
                patience=opts.get("patience", 2),
                predict=opts.get("predict_saturation", True),
            )

    variants: list[dict] = [{}]
    if opts.get("tune"):
        runner_class = type(runner_for(ctx, ctx.spec.runner, io))
        variants += runner_class.tuning_variants(ctx.spec.threads)
    started = time.monotonic()
    results: list[tuple[dict, list[ProfileRecord]]] = []
    stopped = ""
    tries: list[dict[str, Any]] = []
    for i, variant in enumerate(variants):
        if i and time.monotonic() - started > opts.get("tune_budget_s", 30.0):
            tries.append({"settings": variant, "skipped": "tune_budget_s spent"})
            continue
        first, others = run(variant)
        stopped = stopped if i else first.stopped
        results.append((variant, first.records + others))
        tries += [
            {"settings": variant, "batch_size": r.batch_size, "throughput": r.throughput, "p50_ms": r.p50_ms}
            | ({"shape": r.shape_name} if len(shapes) > 1 else {})
            for r in first.records + others
        ]
    records = _best_per_point(results, tuned=len(variants) > 1)
    return {
        "profile": [r.model_dump() for r in records if r.shape_name == shapes[0].name],
        "profile_shapes": [r.model_dump() for r in records if r.shape_name != shapes[0].name],
        "profile_stopped": stopped,
        "tuning": tries if len(variants) > 1 else [],
    }


def _best_per_point(results: list[tuple[dict, list[ProfileRecord]]], tuned: bool) -> list[ProfileRecord]:
    """Each (shape, batch size)'s best record over the settings tried."""
    if not tuned:
        return results[0][1]
    best: dict[tuple[str, int], ProfileRecord] = {}
    for variant, records in results:
        for record in records:
            point = (record.shape_name or "", record.batch_size)
            if point not in best or record.throughput > best[point].throughput:
                best[point] = record.model_copy(update={"settings": variant or {"recipe": True}})
    return sorted(best.values(), key=lambda r: r.batch_size)


# ----- several runners side by side -------------------------------------------------------------------
class _RunnerProcess:
    """One member of an interleaved session: its runner lives in a forked child, so a runner that
    crashes ends its own measurements only, and runtimes never share a process's thread pools."""

    def __init__(
        self,
        ctx: StepContext,
        io: ModelIO,
        inputs: list[dict[str, np.ndarray]],
        shapes: list[GridShape],
        warm: tuple[int, float],
    ) -> None:
        import multiprocessing

        self.key = registry.result_key(ctx.spec.format or "", ctx.spec.runner or "")
        self.conn, child = multiprocessing.Pipe()
        session = os.getpid()
        self.pid = os.fork()
        if self.pid == 0:  # the child: load, then answer commands until told to stop
            # dies with the session even while stopped between turns (SIGKILL reaches stopped processes)
            die_with_parent()
            if os.getppid() != session:
                os._exit(1)
            self.conn.close()
            code = 0
            try:
                _serve_runner(child, ctx, io, inputs, shapes)
            except BaseException:  # noqa: BLE001 - the parent sees the closed pipe
                code = 1
            finally:
                os._exit(code)
        child.close()
        self.error = ""
        self.shape = 0
        self.peak_rss_mb: float | None = None
        # Loading and the first warm-up are not measured: every member loads and warms up at the first
        # batch size at once (overlapping on the cores), and `loaded()` collects the answers.
        self._warm_size: int | None = warm[0]
        try:
            self._send("load", *warm, 0)
        except MemberFailed as exc:
            self.error = str(exc)

    def use_shape(self, index: int) -> None:
        if index != self.shape:
            self.shape, self._warm_size = index, None

    def loaded(self) -> None:
        if self.error:
            return
        try:
            self._receive("load")
        except MemberFailed as exc:
            self.error = str(exc)

    def _call(self, *message: Any) -> Any:
        self._send(*message)
        return self._receive(message[0])

    def _send(self, *message: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
        try:
            self.conn.send(message)
        except (EOFError, OSError):
            raise MemberFailed(f"the runner process died ({self._exit_reason()})") from None

    def _receive(self, command: str) -> Any:
        # Between its turns a runner's process is stopped (SIGSTOP): runtimes keep worker threads
        # spinning after a call (Intel OpenMP for 200 ms), which would steal the cores from the runner
        # being measured. Stopped, they cost nothing; resumed, they behave as in any server.
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            raise MemberFailed(f"the runner process died ({self._exit_reason()})") from None
        finally:
            if command != "stop":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGSTOP)
        if kind == "error":
            raise MemberFailed(value)
        return value

    def _exit_reason(self) -> str:
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return "exit unknown"
        code = os.waitstatus_to_exitcode(status)
        return signal.Signals(-code).name if code < 0 else f"exit code {code}"

    def warmup(self, batch_size: int, seconds: float) -> None:
        if batch_size == self._warm_size:  # warmed up while loading: one call, as between sizes
            self._warm_size, seconds = None, 0.0
        self._call("warmup", batch_size, seconds, self.shape)

    def window(self, batch_size: int, seconds: float) -> list[float]:
        return self._call("window", batch_size, seconds, self.shape)

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError, MemberFailed):
            self.peak_rss_mb = self._call("stop")
        self.conn.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve_runner(
    conn, ctx: StepContext, io: ModelIO, inputs: list[dict[str, np.ndarray]], shapes: list[GridShape]
) -> None:
    runner = None
    feeds: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    while True:
        message = conn.recv()
        kind = message[0]
        if kind == "stop":
            conn.send(("ok", peak_rss_mb()))
            break
        try:
            if kind == "load":
                set_threads(ctx.spec.threads)
                seed_everything(ctx.spec.seed)
                runner = runner_for(ctx, ctx.spec.runner, io)
                runner.load()
                kind = "warmup"  # then warm up at the size and for the time the message gives
            size, seconds, shape = message[1], message[2], message[3]
            if (shape, size) not in feeds:
                feeds[(shape, size)] = _feed(io, inputs, shapes[shape], size)
            feed = feeds[(shape, size)]
            clock = time.perf_counter
            if kind == "warmup":
                until = clock() + seconds
                runner.infer(feed)  # at least once: the first call at a new shape is slow
                while clock() < until:
                    runner.infer(feed)
                conn.send(("ok", None))
            else:
                conn.send(("ok", run_window(lambda r=runner, f=feed: r.infer(f), seconds)))
        except Exception as exc:  # noqa: BLE001 - reported to the coordinator, which records it
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
    if runner is not None:
        runner.close()


def measure_together(ctx: StepContext) -> dict[str, Any]:
    """Profile every member step's runner side by side (see navctl.profiling.interleave) and write each
    member's own result.json, as if each had run alone; this session's metrics describe the session."""
    from navctl.contract.step import RESULT_FILE, StepResult, StepSpec
    from navctl.status import write_atomic

    opts = ctx.spec.options
    members = [StepSpec.model_validate_json(ctx.path(p).read_text()) for p in opts["members"]]
    io, inputs, _ = recorded_samples(ctx)
    requested, sizes, shapes = _plan(io, inputs, members[0].options)
    settings = _settings(members[0].options)
    processes: list[_RunnerProcess] = []
    try:
        for spec in members:
            member_ctx = StepContext(spec=spec, workspace=ctx.workspace)
            processes.append(_RunnerProcess(member_ctx, io, inputs, shapes, warm=(sizes[0], settings.warmup_s)))
        for process in processes:
            process.loaded()
        ready = [p for p in processes if not p.error]
        reference = opts.get("reference") if any(p.key == opts.get("reference") for p in ready) else None
        measured = run_grid(
            ready,
            shapes,
            {p.key: sizes for p in ready},
            settings,
            _dims(io),
            auto=requested == "auto",
            gain_pct=members[0].options.get("throughput_gain_pct", 5.0),
            patience=members[0].options.get("patience", 2),
            predict=members[0].options.get("predict_saturation", True),
            reference=reference,
        )
        session = measured.session
    finally:
        for process in processes:
            process.close()
    for spec, process in zip(members, processes, strict=True):
        outcome = session.members.get(process.key)
        error = process.error or (outcome.error if outcome else "")
        if error and not (outcome and outcome.records):
            result = StepResult(state="failed", message=f"profiling {process.key}: {error}")
        else:
            stopped = outcome.stopped if not error else f"stopped by an error at {error}"
            metrics = {
                "profile": [r.model_dump() for r in outcome.records],
                "profile_shapes": [r.model_dump() for r in measured.others.get(process.key, [])],
                "profile_stopped": stopped,
                "tuning": [],
            }
            result = StepResult(state="ok", metrics=metrics)
        result.peak_rss_mb = process.peak_rss_mb  # the runner's own process, not the session's
        write_atomic(ctx.path(f"steps/{spec.step_id}/{RESULT_FILE}"), result.model_dump_json(indent=2))
        ctx.log(f"{spec.step_id}: {result.state} {result.message}")
    return {
        "session": {
            "interleaved": True,
            "runners": [p.key for p in processes],
            "reference": session.reference,
            "drift_pct": session.drift_pct,
            "unstable_points": session.unstable_points,
            "points": session.points,
            "unreliable": session.unreliable,
        }
    }
