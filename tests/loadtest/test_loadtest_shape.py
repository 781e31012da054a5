"""What `navctl loadtest --shape` sends: named shapes from the ranges, dims given per input, the batch
they imply, and the words for sizes beyond what correctness checked. In-process, no server."""

from __future__ import annotations

import numpy as np
import pytest

from navctl.contract.feeds import feed_at
from navctl.contract.records import AxisRange, TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.errors import UsageError
from navctl.loadtest import perf_analyzer
from navctl.loadtest.shape import outside_ranges, parse_dims, request_shape


def _axis(axis: int, symbol: str, low: int, typical: int, high: int) -> AxisRange:
    return AxisRange(axis=axis, symbol=symbol, min=low, typical=typical, max=high, samples_min=low, samples_max=high)


AXES = [_axis(0, "batch", 1, 2, 64), _axis(1, "seq", 16, 16, 32)]
IO = ModelIO(
    inputs=[
        TensorMeta(name="input_ids", dtype="int64", shape=[-1, -1], axes=AXES),
        TensorMeta(name="attention_mask", dtype="int64", shape=[-1, -1], axes=AXES),
    ],
    outputs=[],
    call="keyword",
    batching=True,
    batch_axis=0,
    samples=2,
)
SAMPLES = [{"input_ids": np.full((2, n), n), "attention_mask": np.ones((2, n), dtype=np.int64)} for n in (16, 32)]


def test_named_and_given_shapes_give_every_input_its_dims() -> None:
    shape, batch = request_shape(IO, None, 1)
    assert (shape.name, shape.sizes, batch) == ("typical", {"seq": 16}, 1)
    shape, batch = request_shape(IO, "max", 4)
    feed = feed_at(SAMPLES, IO.inputs, shape, batch, 0)
    assert feed["input_ids"].shape == feed["attention_mask"].shape == (4, 32)
    # one input given: the other follows the symbol they share; the batch comes from the dims
    shape, batch = request_shape(IO, "input_ids:3x24", 1)
    feed = feed_at(SAMPLES, IO.inputs, shape, batch, 0)
    assert feed["attention_mask"].shape == (3, 24) and batch == 3
    assert outside_ranges(IO, shape) == []
    assert outside_ranges(IO, request_shape(IO, "input_ids:1x64", 1)[0]) == [
        "seq = 64 is outside the range correctness checked (16..32)"
    ]
    assert parse_dims("input_ids:1x64, attention_mask:1X64") == {"input_ids": [1, 64], "attention_mask": [1, 64]}


@pytest.mark.parametrize(
    ("text", "batch", "message"),
    [
        ("input_ids=1x64", 1, "write typical, min, max, or INPUT:DIMS"),
        ("input_ids:1x0", 1, "write typical"),
        ("tokens:1x8", 1, "no input named 'tokens'"),
        ("input_ids:2x8", 4, "sends batches of 2, --batch says 4"),
    ],
)
def test_a_shape_that_does_not_fit_is_a_usage_error(text: str, batch: int, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        request_shape(IO, text, batch)


def test_perf_analyzer_gets_the_dims_without_the_batch_axis() -> None:
    cmd = perf_analyzer.command("m", "u", "http", "concurrency", 1, 2, 500, "x.csv", {"input_ids": [24]})
    assert cmd[cmd.index("--shape") + 1] == "input_ids:24"
