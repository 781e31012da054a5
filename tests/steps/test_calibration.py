"""Calibration samples are kept apart from checked ones: in-process, on a workspace written here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from navctl.contract.records import TensorMeta
from navctl.contract.step import MODEL_IO_FILE
from navctl.contract.tensors import INPUT_DIR, OUTPUT_DIR, ModelIO, save_arrays
from navctl.steps.calibration import calibration_feeds, checked_indices
from navctl.steps.child import StepContext, StepFailed
from tests.helpers import step_spec


def _workspace(folder: Path, samples: int, calibration: dict | None = None) -> StepContext:
    io = ModelIO(
        inputs=[TensorMeta(name="x", dtype="float32", shape=[-1, 3])],
        outputs=[TensorMeta(name="y", dtype="float32", shape=[-1, 2])],
        call="positional",
        batching=True,
        batch_axis=0,
        samples=samples,
    )
    io.write(folder / MODEL_IO_FILE)
    for i in range(samples):
        save_arrays(folder / f"{INPUT_DIR}/{i}.npz", [np.full((2, 3), i, np.float32)])
        save_arrays(folder / f"{OUTPUT_DIR}/{i}.npz", [np.zeros((2, 2), np.float32)])
    spec = step_spec(
        "convert/onnx-int8",
        function="navctl.steps.quantize_onnx:int8",
        recipe_dir=str(folder),
        options={"calibration": {"factory": None, "kwargs": {}, "samples": 100, **(calibration or {})}},
    )
    return StepContext(spec=spec, workspace=folder)


def test_without_a_factory_the_first_half_calibrates_and_the_rest_is_checked(tmp_path: Path) -> None:
    feeds, info = calibration_feeds(_workspace(tmp_path, 5), ModelIO.read(tmp_path / MODEL_IO_FILE))
    assert [int(f["x"][0, 0]) for f in feeds] == [0, 1]  # recorded samples 0 and 1
    assert info == {"source": "split", "samples": 2, "indices": [0, 1]}
    assert checked_indices(5, split=True) == [2, 3, 4]  # never the ones above
    assert checked_indices(5, split=False) == [0, 1, 2, 3, 4]


def test_one_sample_cannot_be_split(tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="the dataloader gave 1 sample.*at least 2 samples"):
        calibration_feeds(_workspace(tmp_path, 1), ModelIO.read(tmp_path / MODEL_IO_FILE))


def test_a_calibration_factory_is_normalised_like_the_dataloader_and_checked_against_it(tmp_path: Path) -> None:
    (tmp_path / "calib.py").write_text(
        "import numpy as np\n"
        "def good(n=3):\n    return [np.ones((4, 3), np.float32) * i for i in range(n)]\n"
        "def wrong_dtype():\n    return [np.ones((4, 3), np.int64)]\n"
    )
    io_path = tmp_path / MODEL_IO_FILE
    ctx = _workspace(tmp_path, 1, {"factory": "calib.py:good", "kwargs": {"n": 7}, "samples": 5})
    feeds, info = calibration_feeds(ctx, ModelIO.read(io_path))
    assert info == {"source": "factory", "samples": 5} and feeds[4]["x"].shape == (4, 3)
    ctx = _workspace(tmp_path, 1, {"factory": "calib.py:wrong_dtype"})
    with pytest.raises(StepFailed, match="input 'x' is int64 \\[4, 3\\]; the dataloader's is float32"):
        calibration_feeds(ctx, ModelIO.read(io_path))
