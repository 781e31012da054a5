"""The profile step: one runner, one batch size after another, nothing else running."""

from __future__ import annotations

from typing import Any

import numpy as np

from navctl.profiling.measure import MeasureSettings
from navctl.profiling.rules import auto_batch_sizes
from navctl.profiling.sweep import sweep
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

    with runner_for(ctx, ctx.spec.runner, io) as runner:

        def make_infer(size: int):
            feed = concat_batch(same, io.batch_axis, size) if io.batching else same[0]
            return lambda: runner.infer(feed)

        result = sweep(
            make_infer,
            sizes,
            settings,
            auto=requested == "auto",
            gain_pct=opts.get("throughput_gain_pct", 5.0),
            patience=opts.get("patience", 2),
        )
    return {"profile": [r.model_dump() for r in result.records], "profile_stopped": result.stopped}
