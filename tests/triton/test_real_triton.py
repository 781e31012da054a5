"""Configs that the real Triton server accepts, for a shipped recipe whose output is one value per sample.

`recipes/two_inputs.yaml`'s `score` has no dimension besides the batch: Triton refuses such a tensor
without `dims`, so navctl declares `dims: [1]` with `reshape { shape: [] }` (and `navctl serve` the
same through PyTriton). Both are loaded in the Triton server that PyTriton ships and answer requests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import navctl
from tests.helpers import free_ports, run_cli, stop_server

pytestmark = pytest.mark.slow
pytest.importorskip("pytriton")
http = pytest.importorskip("tritonclient.http")

KEY = "torch-export@torch-export-cpu"  # deployed on Triton's Python backend, the one PyTriton ships


@pytest.fixture
def two_inputs_package(two_inputs_run: Path) -> Path:
    return two_inputs_run / "two-inputs.nav"


def _first_sample(package: Path):
    with navctl.load(package) as pkg:
        inputs, reference = pkg.samples()
        tolerance = pkg.status.results[KEY].correctness.outputs
    return inputs[0], reference[0], tolerance


def test_triton_repository_with_a_per_sample_scalar_loads_and_answers(two_inputs_package: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    result = run_cli("triton", str(two_inputs_package), "--repo", str(repo), "--name", "two_inputs", "--format", KEY)
    assert result.returncode == 0, result.stderr
    config = (repo / "two_inputs" / "config.pbtxt").read_text()
    score = config[config.index('name: "score"') :].split("output {")[0]
    assert "dims: 1" in score and "reshape {" in score, config
    feed, expected, tolerance = _first_sample(two_inputs_package)
    np.savez(tmp_path / "in.npz", **feed)
    ports = [str(p) for p in free_ports(3)]
    loader = Path(__file__).with_name("infer_in_triton.py")
    run = subprocess.run(
        [
            sys.executable,
            str(loader),
            str(repo),
            "two_inputs",
            str(tmp_path / "in.npz"),
            str(tmp_path / "out.npz"),
            *ports,
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + (repo / "triton.log").read_text()[-3000:]
    answer = dict(np.load(tmp_path / "out.npz"))
    batch = len(expected["score"])
    assert answer["score"].shape == (batch, 1)  # the client sees dims [1]; the model made [batch]
    for name, ref in expected.items():
        got = answer[name].reshape(ref.shape)
        assert np.allclose(got, ref, atol=tolerance[name].atol, rtol=tolerance[name].rtol), name


def test_serve_a_per_sample_scalar(two_inputs_package: Path) -> None:
    http_port, grpc_port, metrics_port = free_ports(3)
    server = subprocess.Popen(
        [sys.executable, "-m", "navctl", "serve", str(two_inputs_package), "--name", "two_inputs"]
        + ["--http-port", str(http_port), "--grpc-port", str(grpc_port), "--metrics-port", str(metrics_port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        line = server.stdout.readline()  # 'starting Triton; its log: ...'
        while line and "serving two_inputs" not in line:
            line = server.stdout.readline()
        assert "serving two_inputs" in line, "navctl serve ended without serving"
        client = http.InferenceServerClient(f"127.0.0.1:{http_port}")
        # 'serving' is printed only once the model itself is ready
        assert client.is_model_ready("two_inputs")
        feed, expected, tolerance = _first_sample(two_inputs_package)
        requests = []
        for name, array in feed.items():
            request = http.InferInput(name, list(array.shape), "FP32")
            request.set_data_from_numpy(array)
            requests.append(request)
        answer = client.infer("two_inputs", requests)
        score = answer.as_numpy("score")
        assert score.shape == (len(expected["score"]), 1)
        assert np.allclose(score[:, 0], expected["score"], atol=tolerance["score"].atol, rtol=tolerance["score"].rtol)
        client.close()
    finally:
        output = stop_server(server)
    assert "CUDA" not in output and "NVML" not in output, output  # Triton's noise goes to its log file
