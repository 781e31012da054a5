"""Creates recipes/models/linear.onnx (a small Gemm+Relu model) for recipes/onnx_file.yaml.

Built with the onnx helper API alone, so it needs onnx but not torch.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent


def main() -> Path:
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "weight")
    bias = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "bias")
    graph = helper.make_graph(
        [
            helper.make_node("Gemm", ["features", "weight", "bias"], ["hidden"]),
            helper.make_node("Relu", ["hidden"], ["scores"]),
        ],
        "linear",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", 8])],
        initializer=[weight, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="navctl-demo")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = HERE / "linear.onnx"
    onnx.save(model, path)
    return path


if __name__ == "__main__":
    print(f"wrote {main()}")
