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
