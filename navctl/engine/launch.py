"""Starting step processes: a fresh interpreter each, or a fork of navctl's warm worker.

Every launch path goes through `enter_step_process`: its own process session (so the whole group can
be signalled), death with its parent, stdout+stderr into the step's log, stdin from /dev/null,
cwd = the workspace, and the step environment `STEP_ENV` (which reproduce.sh exports too).

The warm worker (`python -m navctl.engine.worker`) is a plain interpreter of its own that imports the
framework once and forks a child per step, saving each step the framework import (about 1.7 s for
torch on a 2-core machine). Unlike multiprocessing's forkserver it never re-imports the caller's
`__main__`, so `navctl.optimize()` works from stdin, a notebook or an unguarded script.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

from navctl.engine.signals import die_with_parent, signal_group

Env = dict[str, str] | None  # what a step is told beyond STEP_ENV
STEP_ENV = {"PYTHONFAULTHANDLER": "1", "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
# The annex's imports take seconds (torch's export machinery 2 s, transformers 3 s); past this they hang.
ANNEX_LIMIT_S = 300.0


class StepHandle(Protocol):
    pid: int

    def poll(self) -> int | None:
        """None while running; else the exit code, negative for a signal."""


class Launcher(Protocol):
    def ready(self, later: bool) -> bool:
        """Whether a step can start now; `later`: it needs the modules preloaded later (the annex)."""

    def start(self, spec: Path, log: Path, cwd: Path, later: bool = False, env: Env = None) -> StepHandle:
        """Start the step whose spec.json is `spec`, its output into `log`, in `cwd`, with `env` set."""

    def signal(self, handle: StepHandle, sig: int) -> None:
        """Send `sig` to the step's whole process group."""

    def close(self) -> None:
        """Release what the launcher holds once the run is over."""


def enter_step_process(log: str, cwd: str, env: Env = None) -> None:
    """Turn the current (just forked) process into a step process; the one set-up of every launch path.
    `env`: what this step is told beyond STEP_ENV (its share of the threads)."""
    os.setsid()
    die_with_parent()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(cwd)
    os.environ.update({**STEP_ENV, **(env or {})})


def step_command(spec: Path | str) -> list[str]:
    return [sys.executable, "-m", "navctl.steps", str(spec)]


class FreshLauncher:
    """A new interpreter per step: slowest, simplest, and what reproduce.sh does."""

    def ready(self, later: bool) -> bool:
        return True

    def start(self, spec: Path, log: Path, cwd: Path, later: bool = False, env: Env = None) -> StepHandle:
        return subprocess.Popen(
            step_command(spec),
            stdin=subprocess.DEVNULL,
            close_fds=True,
            preexec_fn=lambda: enter_step_process(str(log), str(cwd), env),
        )

    def signal(self, handle: StepHandle, sig: int) -> None:
        signal_group(handle.pid, sig)

    def close(self) -> None:
        """Nothing is kept between steps."""


class _WorkerChild:
    def __init__(self, launcher: WorkerLauncher, pid: int) -> None:
        self.launcher = launcher
        self.pid = pid

    def poll(self) -> int | None:
        return self.launcher.exit_codes.get(self.pid)


class WorkerLauncher:
    """Forks each step from one warm worker process that imports the framework at once.

    The worker starts at once, in its own session, so its imports overlap with the parent's work;
    `configure` then names the runtimes' modules and the `later` ones its annex imports while the
    first steps run (steps that need those wait for it). A reader thread collects the exit codes the
    worker reports for the children it forked.
    """

    def __init__(self, framework: list[str] | tuple[str, ...], stderr: IO[str] | int | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "navctl.engine.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            env={**os.environ, **STEP_ENV, "NAVCTL_WARM_FIRST": ",".join(["numpy", *framework])},
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C in the terminal is the parent's to handle, not the worker's
            preexec_fn=die_with_parent,
        )
        self.exit_codes: dict[int, int] = {}
        self._annex_ready = True
        self._annex_pid: int | None = None
        self._annex_deadline = float("inf")
        self._started: list[int] = []
        self._forked = 0
        self._cond = threading.Condition()
        self._dead = False
        self._reader = threading.Thread(target=self._read, name="navctl-worker-reader", daemon=True)
        self._reader.start()

    def configure(
        self,
        modules: list[str],
        later: Sequence[str] = (),
        log: str | None = None,
        libraries: Sequence[str] = (),
    ) -> WorkerLauncher:
        """What the worker imports after the framework, what its annex imports (`later`, then the
        user's `libraries`), where its stderr goes."""
        assert self.process.stdin is not None
        self._annex_ready = not (later or libraries)  # without an annex every step goes to the worker itself
        self._annex_deadline = time.monotonic() + ANNEX_LIMIT_S
        config = {"modules": modules, "later": list(later), "libraries": list(libraries), "log": log}
        with contextlib.suppress(BrokenPipeError, OSError):  # a dead worker: start() falls back
            self.process.stdin.write(json.dumps(config) + "\n")
            self.process.stdin.flush()
        return self

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, _, rest = line.strip().partition(" ")
            with self._cond:
                if kind == "started":
                    self._started.append(int(rest))
                elif kind == "exit":
                    pid, code = rest.split()
                    self.exit_codes[int(pid)] = int(code)
                    if int(pid) == self._annex_pid:  # gone before or after its imports: the worker runs them
                        self._annex_ready = True
                elif kind == "annex":
                    if rest == "ready":
                        self._annex_ready = True
                    else:
                        self._annex_pid = int(rest)
                self._cond.notify_all()
        with self._cond:
            self._dead = True
            self._cond.notify_all()

    def ready(self, later: bool) -> bool:
        with self._cond:
            if later and self._annex_pid and not self._annex_ready and time.monotonic() >= self._annex_deadline:
                # an import that hangs (a library of the user's) must not hold the steps behind it forever
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self._annex_pid, signal.SIGKILL)
                self._annex_ready = True  # the worker sees the closed pipe and runs the steps itself
            return not later or self._annex_ready or self._dead

    def start(self, spec: Path, log: Path, cwd: Path, later: bool = False, env: Env = None) -> StepHandle:
        assert self.process.stdin is not None
        # once the annex is ready every step goes there: it imported all the worker did and more
        later = later or self.ready(True)
        request = json.dumps({"spec": str(spec), "log": str(log), "cwd": str(cwd), "later": later, "env": env or {}})
        try:
            self.process.stdin.write(request + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return FreshLauncher().start(spec, log, cwd, env=env)
        with self._cond:
            self._cond.wait_for(lambda: self._started or self._dead)
            if not self._started:  # the worker died (e.g. killed): fall back to a fresh interpreter
                return FreshLauncher().start(spec, log, cwd, env=env)
            self._forked += 1
            return _WorkerChild(self, self._started.pop(0))

    def signal(self, handle: StepHandle, sig: int) -> None:
        signal_group(handle.pid, sig)

    def close(self) -> None:
        """End the worker (stdin's end tells it). One that forked no step is killed at once: it may still
        be importing the framework, seconds that a run whose every step was cached would wait for."""
        if not self._forked:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with contextlib.suppress(OSError):
            if self.process.stdin:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


def _fresh_only() -> bool:
    return os.environ.get("NAVCTL_LAUNCHER", "warm") == "fresh"


def make_launcher(
    preload: list[str],
    stderr: IO[str] | int | None = None,
    later: Sequence[str] = (),
    libraries: Sequence[str] = (),
) -> FreshLauncher | WorkerLauncher:
    """The launcher for a run whose worker imports `preload` (the framework first) and, in its annex,
    `later` and the user's `libraries`. NAVCTL_LAUNCHER=fresh forces a fresh interpreter per step (the
    default: the warm worker)."""
    if _fresh_only():
        return FreshLauncher()
    return WorkerLauncher(preload[:1], stderr).configure(preload[1:], later, libraries=libraries)


class EarlyWorker:
    """A warm worker started from the recipe's `framework` line alone, before the CLI has imported
    its own modules, validated the recipe and drawn the plan: the framework import (seconds) overlaps
    all of that. Pass it as the executor's launcher factory; close it whatever happens (it is killed
    when no run took it: a wrong recipe must not wait for torch to finish importing)."""

    def __init__(self, recipe: str | Path) -> None:
        self.framework = [] if _fresh_only() else _framework_modules(recipe)
        self.launcher = WorkerLauncher(self.framework) if self.framework else None

    def __call__(
        self,
        preload: list[str],
        stderr: IO[str] | int | None = None,
        later: Sequence[str] = (),
        libraries: Sequence[str] = (),
    ) -> FreshLauncher | WorkerLauncher:
        launcher, self.launcher = self.launcher, None  # the run owns (and closes) it from here
        if launcher is None or preload[:1] != self.framework:
            if launcher is not None:
                launcher.close()  # it forked nothing: killed, not awaited
            return make_launcher(preload, stderr, later, libraries)
        return launcher.configure(preload[1:], later, getattr(stderr, "name", None), libraries)

    def close(self) -> None:
        """Kill the worker if no run took it."""
        if self.launcher is not None:
            self.launcher.close()  # it forked nothing: killed, not awaited
            self.launcher = None


def _framework_modules(recipe: str | Path) -> list[str]:
    """The framework's modules from the recipe's `framework:` line ([] when it cannot be told)."""
    try:
        import yaml

        from navctl.plan.registry import SOURCE_PACKAGES

        with open(recipe, encoding="utf-8") as handle:
            framework = yaml.safe_load(handle).get("framework")
        return list(SOURCE_PACKAGES[framework][:1])
    except Exception:  # noqa: BLE001 - any doubt: the executor starts its worker the usual way
        return []
