"""Steps that may run side by side use their share of the threads; measurements use them all. The spec
(and so the fingerprint and reproduce.sh) keeps the run's threads: only the running process is told."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from navctl.contract.step import STEP_THREADS_ENV
from navctl.engine.launch import FreshLauncher, WorkerLauncher
from navctl.engine.run_options import RunOptions
from navctl.plan.models import PlannedStep
from tests.helpers import step_spec

CHECK = "correctness/onnx@onnxruntime-cpu"
# A step function that says which threads its process was given and what torch uses.
PROBE = """
import json, os


def run(ctx):
    import torch

    seen = {"spec": ctx.spec.threads, "torch": torch.get_num_threads(), "omp": os.environ["OMP_NUM_THREADS"]}
    (ctx.workspace / "threads.json").write_text(json.dumps(seen))
    return {"correctness": {"passed": True, "outputs": {}}}
"""


def test_ordinary_steps_get_their_share_and_measurements_all() -> None:
    check = PlannedStep(id=CHECK, kind="correctness")
    profile = PlannedStep(id="profile/side-by-side", kind="profile", exclusive=True)
    assert RunOptions(jobs=2, threads=2).step_env(check) == {STEP_THREADS_ENV: "1"}
    assert RunOptions(jobs=2, threads=8).step_env(check) == {STEP_THREADS_ENV: "4"}
    assert RunOptions(jobs=3, threads=2).step_env(check) == {STEP_THREADS_ENV: "1"}
    assert RunOptions(jobs=2, threads=2).step_env(profile) == {}
    assert RunOptions(jobs=1, threads=8).step_env(check) == {}  # alone: every thread
    assert RunOptions(jobs=2, threads=1).step_env(check) == {}


def _wait(handle, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while (code := handle.poll()) is None:
        assert time.monotonic() < deadline, "the step never ended"
        time.sleep(0.05)
    return code


@pytest.mark.parametrize(
    ("launcher_kind", "env"),
    [("fresh", {}), ("fresh", {STEP_THREADS_ENV: "1"}), ("worker", {STEP_THREADS_ENV: "1"})],
    ids=["fresh-alone", "fresh-shared", "worker-shared"],
)
def test_the_step_process_runs_with_the_threads_it_is_told(tmp_path: Path, monkeypatch, launcher_kind, env) -> None:
    (tmp_path / "probe_step.py").write_text(PROBE)
    monkeypatch.setenv("PYTHONPATH", ":".join([str(tmp_path), *sys.path]))
    spec = step_spec(CHECK, function="probe_step:run", recipe_dir=str(tmp_path), threads=2)
    spec = json.loads(spec.model_dump_json())
    step_dir = tmp_path / "steps" / CHECK
    step_dir.mkdir(parents=True)
    (step_dir / "spec.json").write_text(json.dumps(spec))
    launcher = FreshLauncher() if launcher_kind == "fresh" else WorkerLauncher(["torch"]).configure([])
    try:
        handle = launcher.start(step_dir / "spec.json", step_dir / "check.log", tmp_path, env=env)
        assert _wait(handle) == 0, (step_dir / "check.log").read_text()
    finally:
        launcher.close()
    seen = json.loads((tmp_path / "threads.json").read_text())
    want = 1 if env else 2
    assert seen == {"spec": want, "torch": want, "omp": str(want)}
    assert json.loads((step_dir / "spec.json").read_text())["threads"] == 2  # the spec on disk is the run's
