"""The profile step: one runner, one batch size after another, nothing else running.

With profiling.tune, the runner's alternative settings are swept too (within tune_budget_s) and
each batch size keeps its best record; every try is recorded.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from navctl.profiling.measure import MeasureSettings
from navctl.profiling.rules import auto_batch_sizes
from navctl.profiling.sweep import SweepResult, sweep
from navctl.status import ProfileRecord
from navctl.steps.child import StepContext
from navctl.steps.common import recorded_samples, runner_for
from navctl.steps.tensors import concat_batch


def measure(ctx: StepContext) -> dict[str, Any]:
    io, inputs, _ = recorded_samples(ctx)
    opts = ctx.spec.options
    settings = MeasureSettings(
        **{k: opts[k] for k in ("warmup_s", "window_ms", "windows", "stability_pct", "max_trials")}
    )
    if io.batching:
        requested = opts.get("batch_sizes", "auto")
        sizes = auto_batch_sizes(opts["max_batch_size"]) if requested == "auto" else list(requested)
        base = inputs[0]
        # Samples whose other axes differ (e.g. sequence length) cannot share a batch with sample 0.
        same = [
            f
            for f in inputs
            if all(
                np.delete(np.array(f[n].shape), io.batch_axis).tolist()
                == np.delete(np.array(base[n].shape), io.batch_axis).tolist()
                for n in io.input_names
            )
        ]
    else:
        requested, sizes, same = [], [1], inputs[:1]

    def run(overrides: dict | None) -> SweepResult:
        with runner_for(ctx, ctx.spec.runner, io, overrides) as runner:

            def make_infer(size: int):
                feed = concat_batch(same, io.batch_axis, size) if io.batching else same[0]
                return lambda: runner.infer(feed)

            return sweep(
                make_infer,
                sizes,
                settings,
                auto=requested == "auto",
                gain_pct=opts.get("throughput_gain_pct", 5.0),
                patience=opts.get("patience", 2),
            )

    variants: list[dict] = [{}]
    if opts.get("tune"):
        runner_class = type(runner_for(ctx, ctx.spec.runner, io))
        variants += getattr(runner_class, "tuning_variants", lambda threads: [])(ctx.spec.threads)
    started = time.monotonic()
    results: list[tuple[dict, SweepResult]] = []
    tries: list[dict[str, Any]] = []
    for i, variant in enumerate(variants):
        if i and time.monotonic() - started > opts.get("tune_budget_s", 30.0):
            tries.append({"settings": variant, "skipped": "tune_budget_s spent"})
            continue
        result = run(variant)
        results.append((variant, result))
        tries += [
            {"settings": variant, "batch_size": r.batch_size, "throughput": r.throughput, "p50_ms": r.p50_ms}
            for r in result.records
        ]
    records, stopped = _best_per_batch(results, tuned=len(variants) > 1)
    return {
        "profile": [r.model_dump() for r in records],
        "profile_stopped": stopped,
        "tuning": tries if len(variants) > 1 else [],
    }


def _best_per_batch(results: list[tuple[dict, SweepResult]], tuned: bool) -> tuple[list[ProfileRecord], str]:
    if not tuned:
        return results[0][1].records, results[0][1].stopped
    best: dict[int, ProfileRecord] = {}
    for variant, result in results:
        for record in result.records:
            if record.batch_size not in best or record.throughput > best[record.batch_size].throughput:
                best[record.batch_size] = record.model_copy(update={"settings": variant or {"recipe": True}})
    return [best[b] for b in sorted(best)], results[0][1].stopped
