"""`navctl serve` runs a real Triton server on localhost and answers tritonclient requests correctly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import navctl
from tests.helpers import start_server, stop_server

pytestmark = pytest.mark.slow
pytest.importorskip("pytriton")
http = pytest.importorskip("tritonclient.http")


def test_serve_answers_recorded_samples(tiny_package: Path) -> None:
    server, http_port = start_server(tiny_package, "--name", "tiny", ready=("tiny",), timeout=120)
    try:
        client = http.InferenceServerClient(f"127.0.0.1:{http_port}")
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
