"""What every load-test request sends: the samples at a shape (`--shape`): typical (the default), min,
max, or dims given per input (`input_ids:1x64,attention_mask:1x64`; inputs left out follow the symbols
they share, the batch axis's size is the request's batch)."""

from __future__ import annotations

import numpy as np

from navctl.contract.shapes import BATCH_SYMBOL, NAMED, GridShape, given, named, symbol_ranges
from navctl.contract.tensors import ModelIO
from navctl.errors import UsageError

Feed = dict[str, np.ndarray]


def parse_dims(text: str) -> dict[str, list[int]]:
    """'input_ids:1x64,attention_mask:1x64' -> {input_ids: [1, 64], ...}."""
    out: dict[str, list[int]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, dims = part.rpartition(":")
        try:
            sizes = [int(d) for d in dims.lower().split("x")]
        except ValueError:
            sizes = []
        if not sep or not name or not sizes or any(d <= 0 for d in sizes):
            raise UsageError(f"--shape {text}: write typical, min, max, or INPUT:DIMS such as input_ids:1x64")
        out[name] = sizes
    return out


def _batch_of(io: ModelIO, dims: dict[str, list[int]]) -> int | None:
    for meta in io.inputs:
        for axis in meta.axes:
            if axis.symbol == BATCH_SYMBOL and meta.name in dims:
                return dims[meta.name][axis.axis]
    return None


def request_shape(io: ModelIO, text: str | None, batch: int) -> tuple[GridShape, int]:
    """The shape and the batch size of every request; UsageError when they do not fit the model."""
    if text is None or text in NAMED:
        return named(io.inputs, text or "typical"), batch
    dims = parse_dims(text)
    try:
        shape = given(io.inputs, dims, "given")
    except ValueError as exc:
        raise UsageError(f"--shape {text}: {exc}") from None
    sent = _batch_of(io, dims)
    if sent is not None and batch not in (1, sent):
        raise UsageError(f"--shape {text} sends batches of {sent}, --batch says {batch}: give one of them")
    return shape, sent or batch


def outside_ranges(io: ModelIO, shape: GridShape) -> list[str]:
    """Sizes beyond what correctness checked (the ranges' bounds): worth a word, not a refusal."""
    ranges = symbol_ranges(io.inputs)
    return [
        f"{symbol} = {size} is outside the range correctness checked ({ranges[symbol].min}..{ranges[symbol].max})"
        for symbol, size in shape.sizes.items()
        if symbol in ranges and not ranges[symbol].min <= size <= ranges[symbol].max
    ]
