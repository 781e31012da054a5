"""The ports a server is told to listen on, proved free before Triton starts.

Triton on a busy port does not stop at once: PyTriton's client, on the same address, reaches the server
already there and fails with that server's answer (a 403 for a token it never issued), an internal
error naming neither the port nor the cause. A bind test finds it first, for a few milliseconds.
"""

from __future__ import annotations

import errno
import socket

from navctl.errors import EnvironmentProblem

# In the refusal's message: a load test that starts its own server reads it to retry on other ports.
IN_USE = "is in use on"


class PortUnavailable(EnvironmentProblem):
    """A port the server cannot listen on: another process holds it, or the system refuses it."""


def check_free(address: str, **ports: int) -> None:
    """Exit 4 naming the first port (its option: `http_port` -> --http-port) that cannot be bound on
    `address`; nothing stays bound."""
    for name, port in ports.items():
        option = "--" + name.replace("_", "-")
        try:
            _bind(address, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(f"port {port} ({option}) {IN_USE} {address}; choose another") from None
            reason = exc.strerror or str(exc)
            raise PortUnavailable(f"port {port} ({option}) cannot be listened on at {address}: {reason}") from None


def _bind(address: str, port: int) -> None:
    """Bind every address `address` resolves to (`localhost`: ::1 and 127.0.0.1; a listener on either
    takes the port)."""
    found = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    for family, kind, proto, _, where in dict.fromkeys(found):
        with socket.socket(family, kind, proto) as probe:
            # as Triton does: a port a stopped server left in TIME_WAIT is free, one with a listener is not
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            probe.bind(where)
