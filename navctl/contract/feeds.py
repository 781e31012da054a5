"""Samples at shapes the recorded ones lack: the bounds of the shape ranges (checked by correctness) and
any profiled shape. A sample is resized along its dynamic axes: cut to shrink, repeated from its start
to grow, so every value stays one the model was fed (token ids, a mask of ones, pixels).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from navctl.contract.records import TensorMeta
from navctl.contract.shapes import BATCH_SYMBOL, GridShape, symbol_ranges
from navctl.contract.tensors import BOUNDS_DIR, INPUT_DIR, OUTPUT_DIR, ModelIO, concat_batch, load_arrays

Feed = dict[str, np.ndarray]


def sizes_of(feed: Feed, inputs: list[TensorMeta]) -> dict[str, int]:
    """A feed's size on every symbol but the batch's."""
    sizes: dict[str, int] = {}
    for meta in inputs:
        for axis in meta.axes:
            if axis.symbol != BATCH_SYMBOL:
                sizes.setdefault(axis.symbol, int(feed[meta.name].shape[axis.axis]))
    return sizes


def resize(feed: Feed, inputs: list[TensorMeta], sizes: dict[str, int]) -> Feed:
    """The feed at other sizes: cut along an axis to shrink it, repeated from its start (wrap) to grow it,
    so every value stays one the model was fed (token ids, a mask of ones, pixels)."""
    out = dict(feed)
    for meta in inputs:
        array = out[meta.name]
        for axis in meta.axes:
            target = sizes.get(axis.symbol)
            if target is None or target == array.shape[axis.axis]:
                continue
            array = np.take(array, np.arange(target) % array.shape[axis.axis], axis=axis.axis)
        out[meta.name] = np.ascontiguousarray(array)
    return out


def _nearest(feeds: list[Feed], inputs: list[TensorMeta], sizes: dict[str, int]) -> Feed:
    def distance(feed: Feed) -> float:
        have = sizes_of(feed, inputs)
        return sum(abs(np.log(have[s] / v)) for s, v in sizes.items() if have.get(s) and v > 0)

    return min(feeds, key=distance)


def feed_at(feeds: list[Feed], inputs: list[TensorMeta], shape: GridShape, batch: int | None, batch_axis: int) -> Feed:
    """A feed at this shape and batch size (None: no batch axis): the samples of that shape concatenated,
    or the nearest sample resized when none has it."""
    same = [f for f in feeds if sizes_of(f, inputs) == shape.sizes]
    pool = same or [resize(_nearest(feeds, inputs, shape.sizes), inputs, shape.sizes)]
    return concat_batch(pool, batch_axis, batch) if batch is not None else pool[0]


def bound_feeds(feeds: list[Feed], inputs: list[TensorMeta], batching: bool, batch_axis: int) -> dict[str, Feed]:
    """The samples to make at the bounds of the ranges, those the recorded samples lack: `min` (every
    dynamic axis at its smallest, the batch at 1) and `max` (every axis but the batch at its largest,
    at the batch of the sample it grew from; the batch's own largest is profiled, not checked: the
    rows of a batch are independent)."""
    ranges = symbol_ranges(inputs)
    batched = batching and any(a.symbol == BATCH_SYMBOL for m in inputs for a in m.axes)
    made: dict[str, Feed] = {}
    for name in ("min", "max"):
        sizes = {symbol: getattr(r, name) for symbol, r in ranges.items()}
        base = _nearest(feeds, inputs, sizes)
        feed = resize(base, inputs, sizes)
        if name == "min" and batched:
            feed = {n: np.ascontiguousarray(np.take(v, [0], axis=batch_axis)) for n, v in feed.items()}
        shapes = {n: v.shape for n, v in feed.items()}
        if all({n: v.shape for n, v in f.items()} != shapes for f in feeds):
            made[name] = feed
    return made


def sample_sizes(feeds: list[Feed], inputs: list[TensorMeta]) -> list[dict[str, int]]:
    """The distinct shapes among the samples (sizes by symbol), in sample order."""
    out: list[dict[str, int]] = []
    for feed in feeds:
        sizes = sizes_of(feed, inputs)
        if sizes and sizes not in out:
            out.append(sizes)
    return out


def load_bounds(workspace: Path, io: ModelIO) -> dict[str, tuple[Feed, Feed]]:
    """The bound samples and the source's outputs on them, by bound name."""
    return {
        name: (
            load_arrays(workspace / INPUT_DIR / BOUNDS_DIR / f"{name}.npz", io.input_names),
            load_arrays(workspace / OUTPUT_DIR / BOUNDS_DIR / f"{name}.npz", io.output_names),
        )
        for name in io.bounds
    }
