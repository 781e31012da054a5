"""Give an ONNX graph's dynamic dims navctl's symbols, so axes that are always equal share one name.

Exporters name dims their own way (torch's dynamo exporter `s0` when it infers them, tf2onnx `unk__12`,
jax2onnx its own letters). Every ONNX navctl makes gets its inputs' dims renamed to the recorded
symbols, expressions over them (`s0 + 1`) renamed alike, and outputs' free dims named from the outputs'
own symbols; formats converted from it (onnx-optimized, onnx-int8, onnx-fp16) keep the names.
"""

from __future__ import annotations

import re
from typing import Any

from navctl.contract.tensors import ModelIO
from navctl.steps.shape_ranges import axis_symbols

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _dims(value: Any) -> list[Any]:
    kind = value.type.WhichOneof("value") if value.type.HasField("tensor_type") else None
    return list(value.type.tensor_type.shape.dim) if kind == "tensor_type" else []


def name_dims(graph: Any, io: ModelIO) -> bool:
    """Rename the dims of `graph` (an onnx GraphProto whose inputs and outputs carry io's names) in place;
    True when anything changed."""
    values = {v.name: v for v in list(graph.input) + list(graph.output)}
    mapping: dict[str, str] = {}
    changed = False
    for meta in io.inputs:
        dims = _dims(values[meta.name]) if meta.name in values else []
        for axis, symbol in axis_symbols(meta).items():
            if axis >= len(dims) or dims[axis].HasField("dim_value"):
                continue  # a fixed dim: the exporter specialised it, which correctness finds out
            old = dims[axis].dim_param
            if not old:
                dims[axis].dim_param, changed = symbol, True
            elif old != symbol:
                mapping.setdefault(old, symbol)
    if mapping:
        changed = True
        for value in list(graph.input) + list(graph.output) + list(graph.value_info):
            for dim in _dims(value):
                if dim.dim_param:
                    dim.dim_param = _TOKEN.sub(lambda m: mapping.get(m.group(0), m.group(0)), dim.dim_param)
    known = {s for meta in io.inputs for s in axis_symbols(meta).values()}
    for meta in io.outputs:
        dims = _dims(values[meta.name]) if meta.name in values else []
        for axis, symbol in axis_symbols(meta).items():
            if axis >= len(dims) or dims[axis].HasField("dim_value"):
                continue
            if not set(_TOKEN.findall(dims[axis].dim_param)) & known and dims[axis].dim_param != symbol:
                dims[axis].dim_param, changed = symbol, True
    return changed
