"""TensorFlow and JAX sources: SavedModel and ONNX formats, correct on CPU, profiled and selected."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import REPO, load_status, run_cli

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("recipe", "framework", "source_runner", "inputs"),
    [
        ("keras_cnn.yaml", "tensorflow", "tf-cpu", [("image", [-1, 16, 16, 3]), ("meta", [-1, 4])]),
        ("jax_mlp.yaml", "jax", "jax-cpu", [("x", [-1, 32])]),
    ],
)
def test_example_recipe_end_to_end(recipe: str, framework: str, source_runner: str, inputs, tmp_path: Path) -> None:
    pytest.importorskip(framework)
    ws = tmp_path / "ws"
    result = run_cli(
        "optimize",
        str(REPO / "recipes" / recipe),
        "--workspace",
        str(ws),
        "--package",
        str(tmp_path / "out.nav"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    status = load_status(ws)
    assert [(t["name"], t["shape"]) for t in status["inputs"]] == inputs
    for key in ("tf-savedmodel@tf-savedmodel-cpu", "onnx@onnxruntime-cpu"):
        entry = status["results"][key]
        assert entry["correctness"]["passed"], key
        assert max(o["max_abs"] for o in entry["correctness"]["outputs"].values()) < 1e-4
        assert entry["profile"]
    assert status["results"][f"source@{source_runner}"]["profile"]
    assert status["selection"]["max-throughput"] in ("tf-savedmodel@tf-savedmodel-cpu", "onnx@onnxruntime-cpu")
    import onnx

    graph = onnx.load(ws / "onnx" / "model.onnx").graph
    assert [i.name for i in graph.input] == [name for name, _ in inputs]
    batch = graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # a symbolic batch dimension


TF_MODULE = """
import numpy as np


def build():
    import tensorflow as tf

    class Scorer(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32))

        @tf.function
        def __call__(self, features, scale):
            # dict keys out of alphabetical order: tf2onnx sorts them, navctl must not be fooled
            return {"score": tf.nn.relu(features @ self.w) * scale, "norm": tf.norm(features, axis=-1)}

    return Scorer()


def samples():
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((b, 6)).astype(np.float32), np.full((b, 1), 2.0, np.float32)) for b in (2, 3)]
"""


def test_tf_module_with_positional_inputs_and_dict_outputs(project) -> None:
    pytest.importorskip("tensorflow")
    recipe = project(TF_MODULE, framework="tensorflow", targets=["tf-savedmodel", "onnx"])
    result = run_cli("optimize", str(recipe), timeout=600)
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    assert [t["name"] for t in status["inputs"]] == ["features", "scale"]
    assert [t["name"] for t in status["outputs"]] == ["score", "norm"]
    for key in ("tf-savedmodel@tf-savedmodel-cpu", "onnx@onnxruntime-cpu"):
        assert status["results"][key]["correctness"]["passed"], status["results"][key]
