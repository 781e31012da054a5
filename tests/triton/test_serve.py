"""`navctl serve` runs a real Triton server on localhost and answers tritonclient requests correctly."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import navctl
from tests.helpers import free_ports, stop_server

pytestmark = pytest.mark.slow
pytest.importorskip("pytriton")
http = pytest.importorskip("tritonclient.http")


def test_serve_answers_recorded_samples(tiny_package: Path) -> None:
    http_port, grpc_port, metrics_port = free_ports(3)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "navctl",
            "serve",
            str(tiny_package),
            "--name",
            "tiny",
            "--http-port",
            str(http_port),
            "--grpc-port",
            str(grpc_port),
            "--metrics-port",
            str(metrics_port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        client = http.InferenceServerClient(f"127.0.0.1:{http_port}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if client.is_model_ready("tiny"):
                    break
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            assert server.poll() is None, server.stdout.read()
            time.sleep(0.5)
        else:
            pytest.fail("the server never became ready")
        with navctl.load(tiny_package) as package:
            inputs, reference = package.samples()
            tolerance = package.status.results[package.best()].correctness.outputs["output_0"]
        assert len(inputs) == 3
        for feed, expected in zip(inputs, reference, strict=True):
            request = http.InferInput("x", list(feed["x"].shape), "FP32")
            request.set_data_from_numpy(feed["x"])
            answer = client.infer("tiny", [request]).as_numpy("output_0")
            assert answer.shape == expected["output_0"].shape
            assert np.allclose(answer, expected["output_0"], atol=tolerance.atol, rtol=tolerance.rtol)
    finally:
        output = stop_server(server)
    assert "serving tiny (" in output and "stopped" in output
