"""Two runs on one workspace: the second exits 4 and the first finishes intact; readers of a running
workspace always see a complete status.yaml."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import yaml

from tests.helpers import TINY_MODEL, load_status, run_cli

pytestmark = pytest.mark.slow

SLOW = TINY_MODEL + "\n\ndef slow_samples():\n    import time\n    time.sleep(3)\n    return samples()\n"


def _start(recipe):
    return subprocess.Popen(
        [sys.executable, "-m", "navctl", "optimize", str(recipe)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lock(ws) -> None:
    deadline = time.monotonic() + 30
    while not (ws / ".navctl.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


def test_runs_on_a_busy_workspace_exit_4_and_the_first_finishes(project) -> None:
    recipe = project(SLOW, dataloader={"factory": "model.py:slow_samples"}, targets=["torchscript-trace"])
    other = recipe.parent / "other.yaml"
    other.write_text(recipe.read_text().replace("name: tiny", "name: other"))
    ws = recipe.parent / "ws"
    first = _start(recipe)
    _wait_for_lock(ws)
    # the same recipe (with or without --force) and another recipe on the same workspace: all refused
    for args in ([str(recipe)], [str(recipe), "--force"], [str(other)]):
        second = run_cli("optimize", *args)
        assert second.returncode == 4, (args, second.stderr)
        assert "is in use by another navctl run" in second.stderr and f"pid {first.pid}" in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    status = load_status(ws)
    assert status["recipe"]["name"] == "tiny"
    states = {k: v["state"] for k, v in status["steps"].items() if v["state"] != "unavailable"}
    assert set(states.values()) == {"ok"}


def test_status_is_always_complete_while_a_run_writes_it(project) -> None:
    recipe = project(targets=["torchscript-trace", "torchscript-script"])
    ws = recipe.parent / "ws"
    run = _start(recipe)
    reads = 0
    while run.poll() is None:
        path = ws / "status.yaml"
        if path.exists():
            data = yaml.safe_load(path.read_text())
            assert isinstance(data, dict) and data["schema_version"] == 1 and "steps" in data
            reads += 1
        time.sleep(0.005)
    assert run.returncode == 0
    assert reads > 20
