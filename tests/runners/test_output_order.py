"""Exporters may order outputs differently from the source model; runners must map them by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from navctl.contract.records import TensorMeta
from navctl.contract.step import ModelRef
from navctl.contract.tensors import ModelIO
from navctl.runners.base import RunnerConfig


def _graph(path: Path) -> Path:
    """y = x + 1 and z = x * 2, declared in the order (z, y)."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "one"], ["y"]), helper.make_node("Mul", ["x", "two"], ["z"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3])],
        [
            helper.make_tensor_value_info("z", TensorProto.FLOAT, ["b", 3]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 3]),
        ],
        initializer=[one, two],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


IO = ModelIO(
    inputs=[TensorMeta(name="x", dtype="float32", shape=[-1, 3])],
    outputs=[
        TensorMeta(name="y", dtype="float32", shape=[-1, 3]),
        TensorMeta(name="z", dtype="float32", shape=[-1, 3]),
    ],
    call="positional",
    batching=True,
    batch_axis=0,
    samples=1,
)


@pytest.mark.parametrize("runner", ["onnxruntime-cpu", "openvino-cpu"])
def test_outputs_are_matched_by_name_not_position(runner: str, tmp_path: Path) -> None:
    from navctl.runners import create_runner

    path = _graph(tmp_path / "m.onnx")
    if runner == "openvino-cpu":
        ov = pytest.importorskip("openvino")
        ov.save_model(ov.convert_model(str(path)), str(tmp_path / "m.xml"))
        path = tmp_path / "m.xml"
    config = RunnerConfig(artifact=path, io=IO, device="cpu", threads=1, model=ModelRef(), recipe_dir=tmp_path)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    with create_runner(runner, config) as r:
        out = r.infer({"x": x})
    assert list(out) == ["y", "z"]
    assert np.array_equal(out["y"], x + 1) and np.array_equal(out["z"], x * 2)
