"""Graph inputs no ONNX operation reads: found, subgraphs included, on graphs built with onnx.helper."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from navctl.steps.onnx_names import unused_inputs


def _save(tmp_path: Path, nodes: list, inputs: list[str]) -> str:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    return str(path)


def test_an_input_nothing_reads_is_named_and_one_read_in_a_subgraph_is_not(tmp_path: Path) -> None:
    relu = helper.make_node("Relu", ["input_ids"], ["y"])
    assert unused_inputs(_save(tmp_path, [relu], ["input_ids", "token_type_ids"])) == ["token_type_ids"]
    shape = helper.make_node("Shape", ["token_type_ids"], ["s"])  # DistilBERT's: its shape, never its values
    assert unused_inputs(_save(tmp_path, [relu, shape], ["input_ids", "token_type_ids"])) == ["token_type_ids"]
    # an If whose branches read token_type_ids from the outer graph
    branch = helper.make_graph(
        [helper.make_node("Identity", ["token_type_ids"], ["z"])],
        "then",
        [],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])],
    )
    cond = helper.make_node("Cast", ["input_ids"], ["c"], to=TensorProto.BOOL)
    when = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    assert unused_inputs(_save(tmp_path, [cond, when], ["input_ids", "token_type_ids"])) == []
