"""Which workspace `navctl status` reads with no argument, and what it says of a run killed mid-way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from navctl.cli.targets import default_workspace
from navctl.engine.workspace import LOCK_FILE, Workspace, run_is_gone
from navctl.errors import UsageError


def _workspace(path: Path) -> Path:
    (path / "steps").mkdir(parents=True)
    (path / "status.yaml").write_text("{}\n")
    return path


def test_the_default_workspace_is_here_beside_or_one_folder_down(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "status.yaml").write_text("something else's\n")  # no workspace beside it
    with pytest.raises(UsageError, match="no workspace given and there is no ./navigator_workspace$"):
        default_workspace()
    _workspace(tmp_path / "ws_base")  # a recipe's own workspace name, beside the recipe
    assert default_workspace() == Path("ws_base")
    _workspace(tmp_path / "project" / "ws")
    with pytest.raises(UsageError, match="workspaces found: project/ws, ws_base$"):
        default_workspace()
    monkeypatch.chdir(tmp_path / "ws_base")  # inside a workspace
    assert default_workspace() == Path()


def test_a_run_whose_process_is_gone_is_told_from_one_still_holding_the_lock(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run_is_gone(root) is False  # no lock file: nothing to tell
    held = Workspace(root)
    held.acquire()
    assert run_is_gone(root) is False
    held.release()
    # a run killed with SIGKILL: its lock file stays, and nobody holds it
    code = (
        "import os, pathlib; from navctl.engine.workspace import Workspace; "
        f"Workspace(pathlib.Path({str(root)!r})).acquire(); os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code], env={**os.environ}, check=False)
    assert (root / LOCK_FILE).is_file() and run_is_gone(root) is True
