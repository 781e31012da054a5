"""Real reruns after editing the user's files: a helper module the model imports reaches every step that
runs the model (and, through their artifacts, the rest); the verify function's file only the verify steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import TINY_MODEL, load_status, run_cli, write_project

pytestmark = pytest.mark.slow

SCALED_MODEL = TINY_MODEL.replace("import torch\n", "import torch\nfrom scale import SCALE\n", 1).replace(
    "return torch.relu(self.fc(x))", "return torch.relu(self.fc(x)) * SCALE"
)


def _states(workspace: Path) -> dict[str, str]:
    steps = load_status(workspace)["steps"]
    return {k: v["state"] for k, v in steps.items() if k != "select" and v["state"] != "unavailable"}


def test_editing_an_imported_helper_reruns_the_model_and_a_verify_file_only_verify(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, SCALED_MODEL, targets=["onnx"], verify={"function": "checks.py:verify"})
    (tmp_path / "scale.py").write_text("SCALE = 1.0\n")
    (tmp_path / "checks.py").write_text("def verify(outputs, reference):\n    return True\n")
    ws = tmp_path / "ws"
    first = run_cli("optimize", str(recipe), "--no-package")
    assert first.returncode == 0, first.stderr[-3000:]
    before = np.load(ws / "model_output" / "0.npz")
    listed = {entry["path"] for entry in load_status(ws)["user_files"]}
    assert listed == {"model.py", "scale.py", "checks.py"}

    (tmp_path / "scale.py").write_text("SCALE = 2.0\n")
    second = run_cli("optimize", str(recipe), "--no-package")
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(_states(ws).values()) == {"ok"}, _states(ws)  # the model changed: nothing could be reused
    after = np.load(ws / "model_output" / "0.npz")
    assert [np.allclose(after[k], 2 * before[k]) for k in before.files] == [True] * len(before.files)

    with open(tmp_path / "checks.py", "a") as handle:
        handle.write("# a comment is an edit too\n")
    third = run_cli("optimize", str(recipe), "--no-package")
    assert third.returncode == 0, third.stderr[-3000:]
    states = _states(ws)
    assert {k for k, state in states.items() if state == "ok"} == {"verify/onnx@onnxruntime-cpu"}, states
    assert {state for k, state in states.items() if not k.startswith("verify/")} == {"cached"}
