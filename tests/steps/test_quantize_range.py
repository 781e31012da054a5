"""INT8 weights lose a bit where 8-bit ones would overflow: ONNX Runtime's u8 x s8 kernels on an x86 CPU
without VNNI. The rule, and the effect on a real quantized model, on this machine's CPU."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from navctl.steps.quantize_onnx import _reduce_range


def test_a_setting_given_wins_and_auto_follows_the_cpu() -> None:
    assert _reduce_range(True, "cuda") is True and _reduce_range(False, "cpu") is False
    assert _reduce_range("auto", "cuda") is False  # TensorRT and CUDA kernels have no such overflow
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    assert _reduce_range("auto", "cpu") is (x86 and "vnni" not in Path("/proc/cpuinfo").read_text())


def test_reduce_range_is_what_onnx_runtime_runs_with(tmp_path: Path) -> None:
    """Both settings quantize a real model; the 7-bit one keeps its weights within -64..63."""
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import helper, numpy_helper
    from onnxruntime import quantization as q

    weight = np.linspace(-1, 1, 64 * 16, dtype=np.float32).reshape(64, 16)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "mm",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [None, 16])],
        [numpy_helper.from_array(weight, "w")],
    )
    source = tmp_path / "mm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), source)
    largest = {}
    for reduce in (False, True):
        target = tmp_path / f"mm-{reduce}.onnx"
        q.quantize_dynamic(source, target, reduce_range=reduce, weight_type=q.QuantType.QInt8)
        weights = [numpy_helper.to_array(t) for t in onnx.load(target).graph.initializer if t.data_type == 3]
        largest[reduce] = max(int(np.abs(w.astype(np.int32)).max()) for w in weights)
    assert largest[True] <= 64 < largest[False] == 127
