"""Random samples for a model given without a dataloader (an ONNX file), shaped from its own signature."""

from __future__ import annotations

from typing import Any

import numpy as np

from navctl.steps.child import StepFailed

SYNTHETIC_SAMPLES = 4


def _describe(runner: Any):
    describe = getattr(runner, "describe_inputs", None)
    if describe is None:
        raise StepFailed("this model needs a dataloader: its inputs cannot be read from the model")
    return describe()


def _dynamic(dim: Any) -> bool:
    return not (isinstance(dim, int) and dim > 0)


def synthetic_samples(runner: Any, seed: int, axis: int) -> list[dict[str, np.ndarray]]:
    """Random inputs: batch 2 on the batch axis, size 1 on the model's other dynamic axes."""
    described = _describe(runner)
    rng = np.random.default_rng(seed)
    feeds = []
    for _ in range(SYNTHETIC_SAMPLES):
        feed = {}
        for name, dtype, shape in described:
            dims = [(2 if i == axis else 1) if _dynamic(d) else d for i, d in enumerate(shape)]
            if np.issubdtype(dtype, np.floating):
                feed[name] = rng.standard_normal(dims).astype(dtype)
            elif dtype == np.bool_:
                feed[name] = rng.integers(0, 2, dims).astype(bool)
            else:
                feed[name] = rng.integers(0, 10, dims).astype(dtype)
        feeds.append(feed)
    return feeds


def dynamic_axes(runner: Any, axis: int) -> dict[str, list[int]]:
    """Input -> the axes besides the batch axis that the model declares dynamic (an ONNX file's `T`): the
    samples hold size 1 there, and without this the run fixed them at 1 (Triton then refused T=3)."""
    described = _describe(runner)
    found = {name: [i for i, d in enumerate(shape) if _dynamic(d) and i != axis] for name, _, shape in described}
    return {name: axes for name, axes in found.items() if axes}
