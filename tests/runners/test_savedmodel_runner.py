"""The SavedModel runner keeps the loaded model alive (its variables are freed otherwise)."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from navctl.contract.step import ModelRef
from navctl.runners import RunnerConfig, create_runner

pytestmark = pytest.mark.slow  # imports TensorFlow


def test_savedmodel_variables_survive_garbage_collection(tmp_path: Path) -> None:
    # imported here, not at collection: every pytest worker collects this file (6 s of import each)
    tf = pytest.importorskip("tensorflow")

    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.factor = tf.Variable(3.0)

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="x")])
        def serve(self, x):
            return {"y": x * self.factor}

    module = Scale()
    path = tmp_path / "model.savedmodel"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    del module
    gc.collect()
    config = RunnerConfig(artifact=path, io=None, device="cpu", threads=1, model=ModelRef(), recipe_dir=tmp_path)
    with create_runner("tf-savedmodel-cpu", config) as runner:
        gc.collect()
        out = runner.infer({"x": np.ones((2, 2), np.float32)})
    assert np.allclose(out["y"], 3.0)
