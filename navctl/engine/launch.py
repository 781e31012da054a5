"""Starting step processes: a fresh interpreter each, or a fork of a warm worker.

Both honour one contract: `python -m navctl.steps SPEC.json` semantics, its own process session
(so the whole group can be signalled), stdout+stderr into the step's log, cwd = the workspace.
The warm worker (a multiprocessing forkserver that has imported the framework but run no op)
saves each step the framework import, about 1.7 s for torch on a 2-core machine.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Protocol

from navctl.steps.child import die_with_parent

STEP_ENV = {"PYTHONFAULTHANDLER": "1", "PYTHONUNBUFFERED": "1"}


class StepHandle(Protocol):
    pid: int

    def poll(self) -> int | None:
        """None while running; else the exit code, negative for a signal."""


class FreshLauncher:
    """A new interpreter per step: slowest, simplest, and exactly what reproduce.sh does."""

    def start(self, spec: Path, log: Path, cwd: Path) -> StepHandle:
        with open(log, "wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "navctl.steps", str(spec)],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **STEP_ENV},
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def close(self) -> None:
        """Nothing is kept between steps."""


class _ForkedHandle:
    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process
        self.pid = process.pid or -1

    def poll(self) -> int | None:
        return self.process.exitcode


class WarmLauncher:
    """Forks each step from a forkserver that preloaded `preload` (e.g. torch)."""

    def __init__(self, preload: list[str]) -> None:
        self.context = multiprocessing.get_context("forkserver")
        # the forkserver inherits this environment when it starts, at the first step
        os.environ["NAVCTL_WARM_MODULES"] = ",".join(["numpy", *preload])
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # read when TensorFlow loads, in the worker
        self.context.set_forkserver_preload(["navctl.steps.child", "navctl.engine.warm"])
        self.processes: list[multiprocessing.process.BaseProcess] = []

    def start(self, spec: Path, log: Path, cwd: Path) -> StepHandle:
        from navctl.steps.child import forked_main

        process = self.context.Process(
            target=forked_main, args=(str(spec), str(log), str(cwd), dict(STEP_ENV)), daemon=False
        )
        process.start()
        self.processes.append(process)
        return _ForkedHandle(process)

    def close(self) -> None:
        for process in self.processes:
            if process.exitcode is not None:
                process.close()
        self.processes = []


def make_launcher(preload: list[str]) -> FreshLauncher | WarmLauncher:
    """NAVCTL_LAUNCHER=fresh forces a fresh interpreter per step (the default forks a warm worker)."""
    mode = os.environ.get("NAVCTL_LAUNCHER", "warm")
    if mode == "fresh" or "forkserver" not in multiprocessing.get_all_start_methods():
        return FreshLauncher()
    return WarmLauncher(preload)


def signal_group(pid: int, sig: int) -> None:
    """Signal the step's whole process group (it leads its own session); ignore it if already gone."""
    try:
        os.killpg(pid, sig)
        return
    except (ProcessLookupError, PermissionError):
        pass  # a forked step may not have called setsid() yet: signal the process itself
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
