"""The step process validates its spec as its kind's before it runs anything, and its metrics as its
kind's before it writes them: a mismatch never reaches the parent as a plausible result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from navctl.contract.step import StepResult
from tests.helpers import step_spec

CHECK = "correctness/onnx@onnxruntime-cpu"


def _spec(tmp_path: Path, function: str) -> dict:
    return json.loads(step_spec(CHECK, function=function, recipe_dir=str(tmp_path)).model_dump_json())


def _run_step(workspace: Path, spec: dict, pythonpath: str = "") -> subprocess.CompletedProcess:
    step_dir = workspace / "steps" / spec["step_id"]
    step_dir.mkdir(parents=True)
    (step_dir / "spec.json").write_text(json.dumps(spec))
    (step_dir / "result.json").write_text('{"stale": true}')  # an earlier run's, which must not survive
    env = {"PYTHONPATH": ":".join(filter(None, [pythonpath, *sys.path]))}
    return subprocess.run(
        [sys.executable, "-m", "navctl.steps", f"steps/{spec['step_id']}/spec.json"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_spec_whose_options_are_another_kinds_is_refused_by_the_step_process(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "json:dumps")
    spec["options"] = {"batch_sizes": [1, 2], "max_batch_size": 4}  # a profile step's
    done = _run_step(tmp_path, spec)
    assert done.returncode == 2, done.stderr
    assert "not a valid step spec" in done.stderr and "batch_sizes" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "steps" / CHECK / "result.json").exists()


def test_metrics_that_are_not_the_kinds_fail_the_step_in_the_step_process(tmp_path: Path) -> None:
    (tmp_path / "odd_step.py").write_text("def run(ctx):\n    return {'profile': []}\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    done = _run_step(workspace, _spec(tmp_path, "odd_step:run"), pythonpath=str(tmp_path))
    assert done.returncode == 1, done.stderr
    result = StepResult.model_validate_json((workspace / "steps" / CHECK / "result.json").read_text())
    assert result.kind == "correctness" and result.state == "failed"
    assert "ValidationError" in result.message and result.metrics is None
