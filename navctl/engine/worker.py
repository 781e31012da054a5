"""`python -m navctl.engine.worker`: navctl's warm worker, which forks one child per step.

It imports the modules in NAVCTL_WARM_FIRST (numpy, the framework) at once, then reads its
configuration, the first line on stdin (`{"modules", "later", "libraries", "log"}`: the runtimes'
modules, the annex's, the libraries the user's files import, a file for its stderr), so it can start
before the caller knows its plan. It imports the modules, running no op (forking after an op has
started thread pools is unsafe), then reads one JSON request per line (`{"spec", "log", "cwd",
"later"}`), forks a step for each, and writes `started PID` and later `exit PID CODE` (negative CODE:
killed by that signal) on stdout. It ends when stdin closes; it dies with its parent.

The `later` modules (slow imports only some steps need, such as torch's export machinery) are
imported by an annex: a fork of the worker made once the framework is in, which imports them, the
worker's modules and the user's libraries while the worker already serves the first steps (`annex
PID` when forked, `annex ready` once imported). Requests with `later` go to the annex, which forks
them as the worker does. The caller sends none before `annex ready` (or the annex's exit, after which
the worker runs them itself), and marks every request `later` once the annex is ready: it holds all
the worker does and more (torch's export machinery, and the user's transformers, which every step
imports with the user's model).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys


def _preload(names: list[str]) -> None:
    from navctl.contract.libraries import import_entry

    for name in filter(None, names):
        # a failure is left for the step, which imports the module again and reports the real error
        with contextlib.suppress(Exception):
            import_entry(name)


def _preload_libraries(entries: list[str]) -> bool:
    """Import the libraries the user's files import (navctl.engine.library_imports, which leaves out the
    user's own modules). Whatever they print goes to stderr (stdout carries the worker's protocol). False
    when one started a Python thread: a fork would copy its locks but not the thread, so nothing may be
    forked after."""
    import threading

    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        _preload(entries)
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    if threading.active_count() > 1:
        names = ", ".join(t.name for t in threading.enumerate() if t is not threading.main_thread())
        sys.stderr.write(f"navctl worker: the model's imports started threads ({names}); steps import them\n")
        return False
    return True


def _read_line(fd: int) -> bytes | None:
    """One line, read a byte at a time: nothing after it is taken from the requests that follow."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            return None
        line += byte
    return line


def _fork_step(request: dict) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        from navctl.engine.launch import enter_step_process
        from navctl.steps.child import main

        enter_step_process(request["log"], request["cwd"], request.get("env"))
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


def _start_annex(later: list[str], modules: list[str], libraries: list[str]) -> int | None:
    """Fork the annex that imports `later`, the worker's `modules`, then the user's `libraries`; the
    pipe the worker forwards requests on."""
    if not later and not libraries:
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
        from navctl.engine.signals import die_with_parent

        die_with_parent()
        _preload(later + modules)
        import navctl.steps.child  # noqa: F401 - as in the worker

        if not _preload_libraries(libraries):
            os._exit(0)  # the worker runs every step: the annex may not fork
        _write("annex ready\n")
        _serve(read_end, None)
    except BaseException:  # noqa: BLE001 - the worker sees the closed pipe and runs steps itself
        code = 1
    finally:
        os._exit(code)


def serve() -> None:
    from navctl.engine.signals import die_with_parent

    die_with_parent()
    _preload(os.environ.get("NAVCTL_WARM_FIRST", "").split(","))
    config = _read_line(0)
    if config is None:  # closed before configured: the run never started
        return
    config = json.loads(config)
    if config.get("log"):
        fd = os.open(config["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    # as soon as the framework is in: the annex's imports are the longest wait
    annex = _start_annex(config["later"], config["modules"], config["libraries"])
    _preload(config["modules"])
    import navctl.steps.child  # noqa: F401 - the step body, imported once for every child

    _serve(0, annex)


if __name__ == "__main__":
    serve()
    # The worker holds nothing to clean up, and an interpreter that imported torch takes about a
    # second to tear down: a second every run's end would wait for.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
