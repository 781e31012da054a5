"""Ctrl-C and SIGTERM that no library can absorb, for commands that wait on others' code for long.

Libraries that block in C++ (Ray's `ray.wait`) or run their own loop (asyncio) may turn a SIGINT into a
cancellation they catch, and the command then runs to its end. Inside `stoppable()` navctl's own handler
records the request before raising KeyboardInterrupt, and long loops check `requested()` at every turn.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

_REQUESTED = threading.Event()


def requested() -> bool:
    return _REQUESTED.is_set()


def _on_stop(signum: int, frame: Any) -> None:
    _REQUESTED.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def stoppable() -> Iterator[None]:
    _REQUESTED.clear()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = {sig: signal.signal(sig, _on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
