"""The bound samples a samples step makes: the shape ranges' bounds the recorded samples stop short of
(made by navctl.contract.feeds), run through the source model and saved under bounds/."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import numpy as np

from navctl.contract.feeds import Feed, bound_feeds
from navctl.contract.tensors import BOUNDS_DIR, INPUT_DIR, OUTPUT_DIR, ModelIO, save_arrays
from navctl.steps.child import StepContext, StepFailed


def record_bounds(ctx: StepContext, feeds: list[Feed], io: ModelIO, infer: Callable[[Feed], Feed]) -> ModelIO:
    """Make the bound samples the recorded ones lack, run the source model on them (`infer`: a feed to
    named outputs) and save both under bounds/; returns io listing them."""
    made = bound_feeds(feeds, io.inputs, io.batching, io.batch_axis)
    for folder in (INPUT_DIR, OUTPUT_DIR):  # an earlier run's bounds are not this run's
        shutil.rmtree(ctx.path(f"{folder}/{BOUNDS_DIR}"), ignore_errors=True)
    for name, feed in made.items():
        shapes = {n: list(v.shape) for n, v in feed.items()}
        try:
            out = infer(feed)
        except Exception as exc:
            raise StepFailed(
                f"the source model failed on the {name}-bound sample navctl made from the shape ranges "
                f"({shapes}): {type(exc).__name__}: {exc}; narrow inputs[].axes or give samples that reach it"
            ) from exc
        if list(out) != io.output_names:
            raise StepFailed(
                f"the source model's outputs on the {name}-bound sample {shapes} are {list(out)}, "
                f"on the samples {io.output_names}"
            )
        for output, array in out.items():
            if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                raise StepFailed(f"the source model's output '{output}' holds NaN or Inf on the {name}-bound sample")
        for folder, arrays in (
            (INPUT_DIR, [feed[n] for n in io.input_names]),
            (OUTPUT_DIR, [out[n] for n in io.output_names]),
        ):
            save_arrays(ctx.path(f"{folder}/{BOUNDS_DIR}/{name}.npz"), arrays)
            ctx.add_artifact(f"{folder}/{BOUNDS_DIR}/{name}.npz")
        ctx.log(f"made the {name}-bound sample {shapes}")
    return io.model_copy(update={"bounds": list(made)})
