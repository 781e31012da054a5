"""Every launch path sets a step up the same way: the fresh interpreter, the warm worker, reproduce.sh."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.helpers import load_status, run_cli

pytestmark = pytest.mark.slow


def test_fresh_interpreter_launcher_runs_the_plan(project) -> None:
    recipe = project(targets=["onnx"])
    result = run_cli("optimize", str(recipe), "--no-package", env={"NAVCTL_LAUNCHER": "fresh"})
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    assert {s["state"] for s in status["steps"].values()} <= {"ok", "unavailable"}
    assert status["profiling"]["interleaved"] is True  # the side-by-side session works from a fresh interpreter too
    log = (recipe.parent / "ws" / "steps" / "export" / "onnx" / "export.log").read_text()
    assert "[navctl] step export/onnx" in log


def test_reproduce_script_reproduces_the_steps_result(project) -> None:
    recipe = project(targets=["onnx"])
    assert run_cli("optimize", str(recipe), "--no-package").returncode == 0
    step = recipe.parent / "ws" / "steps" / "correctness" / "onnx@onnxruntime-cpu"
    before = json.loads((step / "result.json").read_text())
    (step / "result.json").unlink()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONFAULTHANDLER", "PYTHONUNBUFFERED")}
    rerun = subprocess.run([str(step / "reproduce.sh")], capture_output=True, text=True, env=env, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "PYTHONFAULTHANDLER=1" in (step / "reproduce.sh").read_text()
    after = json.loads((step / "result.json").read_text())
    assert after["state"] == before["state"] == "ok"
    assert after["metrics"] == before["metrics"]  # the same outputs, compared the same way
