"""Calibration samples for reduced-precision formats, kept apart from the samples that check them.

With a `quantization.calibration` factory, its samples calibrate and every recorded sample is checked.
Without one, the recorded samples are split: the first half calibrates, the second half is checked (the
correctness and verify steps of every reduced-precision candidate read only that half), so no INT8
format is judged on the data it was tuned on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from navctl.contract.kind_options import Calibration
from navctl.contract.step import CallableRef
from navctl.contract.tensors import ModelIO, load_samples
from navctl.steps.child import StepContext, StepFailed


def split_point(count: int) -> int:
    """How many of `count` recorded samples calibrate when no calibration factory is given."""
    return count // 2


def checked_indices(count: int, split: bool) -> list[int]:
    """The recorded samples a reduced-precision candidate is checked on."""
    return list(range(split_point(count) if split else 0, count))


def calibration_feeds(ctx: StepContext, io: ModelIO) -> tuple[list[dict[str, np.ndarray]], dict[str, Any]]:
    """The calibration samples (name -> array) and what status records about them."""
    options = ctx.spec.options.calibration or Calibration()
    limit = options.samples
    if options.factory:
        from navctl.steps.samples import factory_samples, normalize

        ref = CallableRef(entrypoint=options.factory, kwargs=options.kwargs)
        raw = factory_samples(ref, ctx.recipe_dir, "calibration factory", limit)
        feeds, _ = normalize(raw, io.input_names, io.input_names if io.call == "keyword" else None)
        _check_like_inputs(feeds, io, ref.entrypoint)
        return feeds, {"source": "factory", "samples": len(feeds)}
    inputs, _ = load_samples(ctx.workspace, io)
    if len(inputs) < 2:
        raise StepFailed(
            f"calibration needs samples the check never sees: the dataloader gave {len(inputs)} sample, and "
            "without quantization.calibration navctl splits them in two; give at least 2 samples or a "
            "quantization.calibration factory"
        )
    feeds = inputs[: split_point(len(inputs))][:limit]
    return feeds, {"source": "split", "samples": len(feeds), "indices": list(range(len(feeds)))}


def _check_like_inputs(feeds: list[dict[str, np.ndarray]], io: ModelIO, entrypoint: str) -> None:
    """Calibration samples must look like the dataloader's: same names, dtypes and ranks."""
    for i, feed in enumerate(feeds):
        if list(feed) != io.input_names:
            raise StepFailed(
                f"calibration factory '{entrypoint}': sample {i} has inputs {list(feed)}, the model takes "
                f"{io.input_names}"
            )
        for meta in io.inputs:
            array = feed[meta.name]
            if array.dtype != np.dtype(meta.dtype) or array.ndim != len(meta.shape):
                raise StepFailed(
                    f"calibration factory '{entrypoint}': sample {i} input '{meta.name}' is {array.dtype} "
                    f"{list(array.shape)}; the dataloader's is {meta.dtype} {meta.shape}"
                )
