"""Helpers shared by tests (imported by tests, never by conftest's fixtures' users through conftest)."""

from __future__ import annotations

import os
import socket


def free_ports(count: int) -> list[int]:
    """Free TCP ports on 127.0.0.1 (bound together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_server(server) -> str:
    """SIGINT a `navctl serve` process, wait for it, and check nothing of its process group outlives it."""
    import signal
    import subprocess
    import time

    server.send_signal(signal.SIGINT)
    try:
        output, _ = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        raise
    deadline = time.monotonic() + 15
    while group_alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_alive(server.pid), "a server process outlived navctl serve"
    assert server.returncode == 0, output
    return output
