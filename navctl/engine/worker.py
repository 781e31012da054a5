"""`python -m navctl.engine.worker`: navctl's warm worker, which forks one child per step.

It imports the modules in NAVCTL_WARM_FIRST (numpy, the framework) and NAVCTL_WARM_MODULES (the
runtimes'), running no op (forking after an op has started thread pools is unsafe), then reads one
JSON request per line on stdin (`{"spec", "log", "cwd", "later"}`), forks a step for each, and
writes `started PID` and later `exit PID CODE` (negative CODE: killed by that signal) on stdout. It
ends when stdin closes; it dies with its parent.

Modules in NAVCTL_WARM_LATER (slow imports only some steps need, such as torch's export machinery)
are imported by an annex: a fork of the worker made once the framework is in, which imports them
while the worker already serves the other steps (`annex PID` when forked, `annex ready` once
imported; the runtimes' modules are the worker's alone, a step in the annex imports any it needs).
Requests with `later` go to the annex, which forks them as the worker does; the caller sends none
before `annex ready` (or the annex's exit, after which the worker runs them itself).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import sys


def _preload(variable: str) -> None:
    for name in filter(None, os.environ.get(variable, "").split(",")):
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


def _write(line: str) -> None:
    # One write per line: the worker and its annex share stdout, and a pipe keeps short writes whole.
    os.write(1, line.encode())


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _write(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n")


def _serve(fd: int, forward: int | None) -> None:
    """Fork a step per request line read from `fd`; requests marked `later` go to `forward`."""
    pending = b""  # raw reads: a buffered readline could hold a second request that select() never reports
    while True:
        readable, _, _ = select.select([fd], [], [], 0.01)
        if readable:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                if forward is not None and request.get("later"):
                    try:
                        os.write(forward, line + b"\n")
                        continue
                    except OSError:  # the annex died: the step runs here and imports what it needs
                        forward = None
                _write(f"started {_fork_step(request)}\n")
        _reap()
    _reap()


def _start_annex() -> int | None:
    """Fork the annex that imports NAVCTL_WARM_LATER; the pipe the worker forwards requests on."""
    if not os.environ.get("NAVCTL_WARM_LATER"):
        return None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(read_end)
        _write(f"annex {pid}\n")
        return write_end
    os.close(write_end)
    os.close(0)
    code = 0
    try:
        from navctl.engine.launch import die_with_parent

        die_with_parent()
        _preload("NAVCTL_WARM_LATER")
        import navctl.steps.child  # noqa: F401 - as in the worker

        _write("annex ready\n")
        _serve(read_end, None)
    except BaseException:  # noqa: BLE001 - the worker sees the closed pipe and runs steps itself
        code = 1
    finally:
        os._exit(code)


def serve() -> None:
    from navctl.engine.launch import die_with_parent

    die_with_parent()
    _preload("NAVCTL_WARM_FIRST")
    annex = _start_annex()  # as soon as the framework is in: the annex's imports are the longest wait
    _preload("NAVCTL_WARM_MODULES")
    import navctl.steps.child  # noqa: F401 - the step body, imported once for every child

    _serve(0, annex)


if __name__ == "__main__":
    serve()
    # The worker holds nothing to clean up, and an interpreter that imported torch takes about a
    # second to tear down: a second every run's end would wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
