"""`python -m navctl.engine.worker`: navctl's warm worker, which forks one child per step.

It imports the modules in NAVCTL_WARM_MODULES (the framework, no op run: forking after an op has
started thread pools is unsafe), then reads one JSON request per line on stdin
(`{"spec", "log", "cwd"}`), forks a step for each, and writes `started PID` and later `exit PID CODE`
(negative CODE: killed by that signal) on stdout. It ends when stdin closes; it dies with its parent.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import sys


def _preload() -> None:
    for name in filter(None, os.environ.get("NAVCTL_WARM_MODULES", "").split(",")):
        # a failure is left for the step, which imports the module again and reports the real error
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _fork_step(request: dict[str, str]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        from navctl.engine.launch import enter_step_process
        from navctl.steps.child import main

        enter_step_process(request["log"], request["cwd"])
        code = main([request["spec"]])
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _reap(out) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        out.write(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n")
        out.flush()


def serve() -> None:
    from navctl.engine.launch import die_with_parent

    die_with_parent()
    _preload()
    import navctl.steps.child  # noqa: F401 - the step body, imported once for every child

    out = sys.stdout
    pending = b""  # raw reads: a buffered readline could hold a second request that select() never reports
    while True:
        readable, _, _ = select.select([0], [], [], 0.01)
        if readable:
            chunk = os.read(0, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                pid = _fork_step(json.loads(line))
                out.write(f"started {pid}\n")
                out.flush()
        _reap(out)
    _reap(out)


if __name__ == "__main__":
    serve()
    # The worker holds nothing to clean up, and an interpreter that imported torch takes about a
    # second to tear down: a second every run's end would wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
