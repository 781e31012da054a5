"""SIGINT and SIGKILL sent to the parent at varied moments: status.yaml always validates, no step
process outlives the run, and a rerun ends with the same formats and states as an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.helpers import FAST_PROFILING, REPO, load_status, run_cli, wait_no_leftovers

pytestmark = pytest.mark.slow

SCHEMA = json.loads((REPO / "schemas" / "status.schema.json").read_text())
RUNS = 10


def _recipe(folder: Path) -> Path:
    """An ONNX-file recipe: no torch import, so each run takes a second or two."""
    from recipes.models import make_onnx_model

    folder.mkdir(parents=True, exist_ok=True)
    model = make_onnx_model.main()
    recipe = {
        "name": "interrupted",
        "framework": "onnx",
        "model": {"path": str(model)},
        "targets": ["onnx"],
        "device": "cpu",
        "threads": 1,
        "profiling": {**FAST_PROFILING, "batch_sizes": [1, 2, 4, 8]},
        "workspace": "ws",
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _final_states(status: dict) -> dict[str, str]:
    return {k: ("ok" if v["state"] == "cached" else v["state"]) for k, v in status["steps"].items()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, str]:
    recipe = _recipe(tmp_path_factory.mktemp("reference"))
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    return _final_states(load_status(recipe.parent / "ws"))


@pytest.mark.parametrize("run", range(RUNS))
def test_interrupt_then_resume(run: int, reference: dict[str, str], tmp_path: Path) -> None:
    sig = signal.SIGINT if run % 2 == 0 else signal.SIGKILL
    delay = 0.2 + run * 0.25  # 0.2 s to 2.45 s: before, during and after the steps, each signal 5 times
    recipe = _recipe(tmp_path)
    ws = recipe.parent / "ws"
    process = subprocess.Popen(
        [sys.executable, "-m", "navctl", "optimize", str(recipe)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    # -2: SIGINT landed while Python was still starting navctl; a shell reports that as 130 too
    if process.returncode not in (0, -9, -2):
        assert process.returncode == 130, err
        assert "Traceback" not in err
        if (ws / "status.yaml").exists() and "resume with" in err:
            # a step stopped by Ctrl-C is pending (resumable), never a failure of the model
            assert not [k for k, v in load_status(ws)["steps"].items() if v["state"] in ("failed", "crashed")]
            assert f"resume with: navctl optimize {recipe}" in err
    assert wait_no_leftovers(ws) == []
    if (ws / "status.yaml").exists():
        jsonschema.validate(yaml.safe_load((ws / "status.yaml").read_text()), SCHEMA)
    again = run_cli("optimize", str(recipe))
    assert again.returncode == 0, again.stderr
    status = load_status(ws)
    jsonschema.validate(status, SCHEMA)
    assert _final_states(status) == reference
    assert status["results"]["onnx@onnxruntime-cpu"]["correctness"]["passed"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupt_during_the_side_by_side_session_leaves_no_runner_process(sig: int, tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    data = yaml.safe_load(recipe.read_text())
    data["targets"] = ["onnx", "onnx-optimized"]
    data["profiling"] = {**FAST_PROFILING, "batch_sizes": [1, 2, 4, 8, 16, 32], "window_ms": 200, "stability_pct": 1}
    recipe.write_text(yaml.safe_dump(data))
    ws = recipe.parent / "ws"
    process = subprocess.Popen([sys.executable, "-m", "navctl", "optimize", str(recipe)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            steps = yaml.safe_load((ws / "status.yaml").read_text())["steps"]
        except (OSError, yaml.YAMLError, TypeError, KeyError):
            steps = {}
        if sum(1 for k, v in steps.items() if k.startswith("profile/") and v["state"] == "running") >= 2:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the profiling session never started")
    time.sleep(0.5)  # runners loaded, stopped between their turns
    process.send_signal(sig)
    process.communicate(timeout=60)
    assert wait_no_leftovers(ws) == []
