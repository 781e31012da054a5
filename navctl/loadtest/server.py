"""The server a load test drives: `navctl serve` in its own process group, on free 127.0.0.1 ports.

A separate process on purpose: the load generator must not share an interpreter (and its GIL) with
the Python functions PyTriton calls for each batch, or the client would slow the server it measures.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from navctl.errors import EnvironmentProblem
from navctl.ports import IN_USE
from navctl.records.loadtest import ServingConfig

NULL_MODEL = "navctl_null"  # answers at once: the driver's own floor
STOP_TIMEOUT_S = 30.0
START_ATTEMPTS = 3  # a free port can be taken between choosing it and Triton binding it


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now (bound together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class ServedModel:
    package: Path
    key: str
    name: str
    config: ServingConfig
    http_port: int = 0
    grpc_port: int = 0
    log_file: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / f"navctl-loadtest-{os.getpid()}.log")
    process: subprocess.Popen | None = None

    def url(self, protocol: str) -> str:
        return f"127.0.0.1:{self.http_port if protocol == 'http' else self.grpc_port}"

    def start(self, timeout_s: float = 300.0) -> None:
        last = ""
        for _ in range(START_ATTEMPTS):
            last = self._try_start(timeout_s)
            if not last:
                return
            if not any(word in last.lower() for word in ("address already in use", "bind", IN_USE)):
                break
        raise EnvironmentProblem(f"navctl serve did not start for the load test: {last}")

    def _try_start(self, timeout_s: float) -> str:
        """'' once the model is ready, else why not."""
        self.http_port, self.grpc_port, metrics = free_ports(3)
        cfg = self.config
        cmd = [
            sys.executable, "-m", "navctl", "serve", str(self.package), "--format", self.key, "--name", self.name,
            "--address", "127.0.0.1", "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
            "--metrics-port", str(metrics), "--max-queue-delay-us", str(cfg.max_queue_delay_us),
            "--instances", str(cfg.instances), "--null-model", NULL_MODEL, "--log-file", str(self.log_file),
            "--dynamic-batching" if cfg.dynamic_batching else "--no-dynamic-batching",
        ]  # fmt: skip
        for size in cfg.preferred_batch_sizes:
            cmd += ["--preferred-batch-size", str(size)]
        if cfg.max_batch_size:
            cmd += ["--max-batch-size", str(cfg.max_batch_size)]
        self.process = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        lines: list[str] = []
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:  # the server exited before it was ready
                self.process.wait()
                self.process = None
                return (lines[-1] if lines else "no output") + f" (Triton's log: {self.log_file})"
            lines.append(line.strip())
            if line.startswith("serving "):
                return ""
        self.stop()
        return f"not ready after {timeout_s:g}s (Triton's log: {self.log_file})"

    def stop(self) -> None:
        """SIGINT to navctl serve (it stops Triton cleanly), then SIGKILL to whatever is left of its group."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired, ProcessLookupError):
            process.send_signal(signal.SIGINT)
            process.wait(timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever is left of the group (Triton, its stubs)
        process.wait()
        if process.stdout:
            process.stdout.close()

    def __enter__(self) -> ServedModel:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
