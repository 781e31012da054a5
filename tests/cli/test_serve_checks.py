"""What `navctl serve` checks before it announces or starts Triton, in-process: nothing is started."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from navctl.cli.main import main
from navctl.ports import PortUnavailable, check_free
from navctl.status import EnvironmentInfo, RecipeInfo, RunInfo, Status, ToolInfo
from tests.helpers import free_ports, status_package

_STATUS = Status(
    tool=ToolInfo(version="0.1.0"),
    recipe=RecipeInfo(path="r.yaml", sha256="x", name="tiny"),
    environment=EnvironmentInfo(python="3.11", platform="linux", cpu="cpu", threads=1),
    run=RunInfo(started_at="2026-01-01T00:00:00+00:00"),
)


def test_a_missing_package_is_said_before_the_server_is_announced(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.nav"
    assert main(["serve", str(missing), "--log-file", str(tmp_path / "triton.log")]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"navctl: error: {missing}: no such file\n"
    assert captured.out == ""


def test_a_busy_port_is_refused_before_triton_starts(tmp_path: Path, capsys, monkeypatch) -> None:
    with socket.socket() as holder:  # another server, on 127.0.0.1 only
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        free, other = free_ports(2)
        check_free("127.0.0.1", http_port=free, grpc_port=other)
        with pytest.raises(PortUnavailable) as caught:
            check_free("127.0.0.1", http_port=free, grpc_port=busy)
        assert caught.value.exit_code == 4
        assert caught.value.message == f"port {busy} (--grpc-port) is in use on 127.0.0.1; choose another"
        package = status_package(tmp_path / "base.nav", _STATUS)
        monkeypatch.setattr("navctl.triton.serve.serve", lambda *a, **k: pytest.fail("Triton was started"))
        ports = ["--http-port", str(busy), "--grpc-port", str(free), "--metrics-port", str(other)]
        assert main(["serve", str(package), *ports, "--log-file", str(tmp_path / "triton.log")]) == 4
    captured = capsys.readouterr()
    assert captured.err == f"navctl: error: port {busy} (--http-port) is in use on 127.0.0.1; choose another\n"


def test_a_load_tests_server_on_a_port_taken_meanwhile_is_retried_on_others(tmp_path: Path, monkeypatch) -> None:
    from navctl.errors import EnvironmentProblem
    from navctl.loadtest import server
    from navctl.records.loadtest import ServingConfig

    with socket.socket() as holder:  # taken between choosing the ports and the server binding them
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        chosen: list[int] = []

        def ports(count: int) -> list[int]:
            chosen.append(busy)
            return [busy, *free_ports(count - 1)]

        monkeypatch.setattr(server, "free_ports", ports)
        served = server.ServedModel(
            status_package(tmp_path / "base.nav", _STATUS), "onnx@onnxruntime-cpu", "tiny", ServingConfig()
        )
        served.log_file = tmp_path / "triton.log"
        with pytest.raises(EnvironmentProblem) as caught:
            served.start(timeout_s=60)
    assert len(chosen) == server.START_ATTEMPTS  # each refusal was retried on other ports
    assert caught.value.message.startswith(
        f"navctl serve did not start for the load test: navctl: error: port {busy} (--http-port) is in use on 127.0.0.1"
    )
