"""Shared symbols in exported formats, in-process: ONNX dims renamed to navctl's symbols whatever the
exporter called them, and torch.export given one Dim per symbol (falling back to torch's own inference
when the model ties axes the samples did not)."""

from __future__ import annotations

from types import SimpleNamespace

import onnx
import pytest
from onnx import TensorProto, helper

from navctl.contract.records import AxisRange, TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.steps.onnx_dims import name_dims


def _axis(axis: int, symbol: str, high: int = 32, samples_max: int = 32) -> AxisRange:
    return AxisRange(axis=axis, symbol=symbol, min=1, typical=2, max=high, samples_min=1, samples_max=samples_max)


def _io(seq_max: int = 32) -> ModelIO:
    ranged = [_axis(0, "batch"), _axis(1, "seq", high=seq_max)]
    return ModelIO(
        inputs=[
            TensorMeta(name="a", dtype="float32", shape=[-1, -1], axes=ranged),
            TensorMeta(name="b", dtype="float32", shape=[-1, -1], axes=ranged),
        ],
        outputs=[
            TensorMeta(name="y", dtype="float32", shape=[-1, -1], axes=ranged),
            TensorMeta(name="z", dtype="float32", shape=[-1, 4], axes=[_axis(0, "batch")]),
        ],
        call="positional",
        batching=True,
        batch_axis=0,
        samples=2,
    )


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_onnx_dims_get_the_recorded_symbols_whatever_the_exporter_named_them() -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"]), helper.make_node("ReduceSum", ["a"], ["z"])],
        "g",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["s10", "s12"]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["unk__7", None]),  # tf2onnx-like
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["s10", "s12 + 1"]),
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["unk__9", 4]),
        ],
    )
    assert name_dims(graph, _io())
    dims = {v.name: _dims(v) for v in list(graph.input) + list(graph.output)}
    assert dims == {"a": ["batch", "seq"], "b": ["batch", "seq"], "y": ["batch", "seq + 1"], "z": ["batch", 4]}
    assert not name_dims(graph, _io())  # already named: nothing to do
    onnx.checker.check_model(helper.make_model(graph))


def test_torch_export_gets_one_dim_per_symbol_and_falls_back_when_the_model_ties_more() -> None:
    torch = pytest.importorskip("torch")
    from navctl.steps.export_torch import _dynamic_shapes, _export_with_symbols

    ((a, b),) = _dynamic_shapes(_io(seq_max=128))
    assert a[0] is b[0] and a[1] is b[1]  # the same Dim objects: torch.export keeps the axes equal
    assert (a[1].__name__, a[1].max) == ("seq", 128)  # declared beyond the samples: bounded
    assert _dynamic_shapes(_io())[0][0][1].max > 10**9  # only the samples' largest: no bound

    class Pair(torch.nn.Module):  # positional *args, as navctl's FlatOutputs wrapper takes them
        def forward(self, *args):
            return args[0] + args[1]  # ties x's and y's dims, which navctl named apart below

    apart = ModelIO(
        inputs=[
            TensorMeta(name="x", dtype="float32", shape=[-1, 3], axes=[_axis(0, "batch_x")]),
            TensorMeta(name="y", dtype="float32", shape=[-1, 3], axes=[_axis(0, "batch_y")]),
        ],
        outputs=[],
        call="positional",
        batching=False,
        batch_axis=0,
        samples=1,
    )
    ctx = SimpleNamespace(note="", log=lambda message: None)
    example = (torch.ones(2, 3), torch.ones(2, 3))
    program = _export_with_symbols(
        ctx, lambda shapes: torch.export.export(Pair(), example, dynamic_shapes=shapes, strict=False), apart
    )
    assert "exported with the symbols torch inferred" in ctx.note and "Constraints violated" in ctx.note
    assert program.module()(torch.ones(5, 3), torch.ones(5, 3)).shape == (5, 3)
