"""The profile step: one runner, one batch size after another, nothing else running.

With profiling.tune, the runner's alternative settings are swept too (within tune_budget_s) and
each batch size keeps its best record; every try is recorded.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from navctl.contract.feeds import sample_sizes
from navctl.contract.kind_metrics import ProfileMetrics
from navctl.contract.kind_options import ProfileOptions
from navctl.contract.shapes import dims_at, grid
from navctl.contract.tensors import ModelIO
from navctl.profiling.grid import run_grid, sweep_grid
from navctl.profiling.machine_load import LoadMeter, load_fields, load_verdict, log_load
from navctl.profiling.measure import MeasureSettings
from navctl.profiling.rules import ERROR_STOP_MARK, auto_batch_sizes
from navctl.profiling.runner_process import RunnerProcess, feed_for
from navctl.profiling.sweep import SweepResult
from navctl.records.results import ProfileRecord
from navctl.steps.child import StepContext
from navctl.steps.common import recorded_samples, runner_for


def _settings(opts: ProfileOptions) -> MeasureSettings:
    return MeasureSettings(
        warmup_s=opts.warmup_s,
        window_ms=opts.window_ms,
        windows=opts.windows,
        stability_pct=opts.stability_pct,
        max_trials=opts.max_trials,
    )


def _plan(io: ModelIO, inputs: list[dict[str, np.ndarray]], opts: ProfileOptions):
    """(requested batch sizes, the batch sizes, the shapes: navctl.contract.shapes)."""
    shapes = grid(io.inputs, opts.shapes, opts.selection_shape, sample_sizes(inputs, io.inputs))
    if not io.batching:
        return [], [1], shapes
    requested = opts.batch_sizes
    sizes = auto_batch_sizes(opts.max_batch_size) if requested == "auto" else list(requested)
    return requested, sizes, shapes


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
                feed = feed_for(io, inputs, shapes[index], size)
                return lambda: runner.infer(feed)

            return sweep_grid(
                make_infer,
                shapes,
                sizes,
                settings,
                _dims(io),
                auto=requested == "auto",
                gain_pct=opts.throughput_gain_pct,
                patience=opts.patience,
                predict=opts.predict_saturation,
            )

    variants: list[dict] = [{}]
    if opts.tune:
        runner_class = type(runner_for(ctx, ctx.spec.runner, io))
        variants += runner_class.tuning_variants(ctx.spec.threads)
    started = time.monotonic()
    meter = LoadMeter()
    results: list[tuple[dict, list[ProfileRecord]]] = []
    stopped = ""
    tries: list[dict[str, Any]] = []
    for i, variant in enumerate(variants):
        if i and time.monotonic() - started > opts.tune_budget_s:
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
    load = meter.stop()
    log_load(ctx.log, load)
    records = _best_per_point(results, tuned=len(variants) > 1)
    return {
        "profile": [r.model_dump() for r in records if r.shape_name == shapes[0].name],
        "profile_shapes": [r.model_dump() for r in records if r.shape_name != shapes[0].name],
        "profile_stopped": stopped,
        "tuning": tries if len(variants) > 1 else [],
        **load_fields(load),
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


def measure_together(ctx: StepContext) -> dict[str, Any]:
    """Profile every member step's runner side by side (see navctl.profiling.interleave) and write each
    member's own result.json, as if each had run alone; this session's metrics describe the session."""
    from navctl.contract.step import RESULT_FILE, StepResult, StepSpec
    from navctl.status import write_atomic

    opts = ctx.spec.options
    members = [StepSpec.model_validate_json(ctx.path(p).read_text()) for p in opts.members]
    first = members[0].options
    io, inputs, _ = recorded_samples(ctx)
    requested, sizes, shapes = _plan(io, inputs, first)
    settings = _settings(first)
    processes: list[RunnerProcess] = []
    began = time.monotonic()
    try:
        for spec in members:
            member_ctx = StepContext(spec=spec, workspace=ctx.workspace)
            warm = (sizes[0], settings.warmup_s)
            processes.append(RunnerProcess(member_ctx, io, inputs, shapes, warm, opts.member_timeout_s))
        for process in processes:
            process.loaded(sharing=len(processes))
        ready = [p for p in processes if not p.error]
        ctx.log(f"{len(ready)} of {len(processes)} runners loaded and warmed up in {time.monotonic() - began:.1f} s")
        began = time.monotonic()
        reference = opts.reference if any(p.key == opts.reference for p in ready) else None
        meter = LoadMeter()
        measured = run_grid(
            ready,
            shapes,
            {p.key: sizes for p in ready},
            settings,
            _dims(io),
            auto=requested == "auto",
            gain_pct=first.throughput_gain_pct,
            patience=first.patience,
            predict=first.predict_saturation,
            reference=reference,
            log=ctx.log,
        )
        load = meter.stop()
        session = measured.session
        session.unreliable = "; ".join(filter(None, [session.unreliable, load_verdict(load)]))
        ctx.log(f"measured in {time.monotonic() - began:.1f} s (the reference's drift included)")
        log_load(ctx.log, load)
    finally:
        for process in processes:
            process.close()
    for spec, process in zip(members, processes, strict=True):
        outcome = session.members.get(process.key)
        error = process.error or (outcome.error if outcome else "")
        if error and not (outcome and outcome.records):
            result = StepResult(kind="profile", state="failed", message=f"profiling {process.key}: {error}")
        else:
            stopped = outcome.stopped if not error else f"{ERROR_STOP_MARK} {error}"
            metrics = ProfileMetrics(
                profile=outcome.records, profile_shapes=measured.others.get(process.key, []), profile_stopped=stopped
            )
            result = StepResult(kind="profile", state="ok", metrics=metrics)
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
            **load_fields(load),
            "unreliable": session.unreliable,
        }
    }
