"""Serving models whose outputs are not per sample: never merge clients' requests, answer scalars, and
refuse the options that would merge (real PyTriton on 127.0.0.1, free ports, bounded requests)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import navctl
from tests.helpers import REPO, free_ports, load_status, run_cli, stop_server

pytestmark = pytest.mark.slow
pytest.importorskip("pytriton")
http = pytest.importorskip("tritonclient.http")
mc = pytest.importorskip("tritonclient.grpc.model_config_pb2")

KEY = "onnx@onnxruntime-cpu"
CLIENTS = 4
ROUNDS = 3


@contextmanager
def serving(package: Path, name: str, *options: str) -> Iterator[tuple[str, list[str]]]:
    """`navctl serve` until the model is ready: (its HTTP address, the lines it printed so far)."""
    http_port, grpc_port, metrics_port = free_ports(3)
    ports = ["--http-port", str(http_port), "--grpc-port", str(grpc_port), "--metrics-port", str(metrics_port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "navctl", "serve", str(package), "--format", KEY, "--name", name, *ports, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        for line in server.stdout:
            lines.append(line.strip())
            if line.startswith(f"serving {name}"):
                break
        assert lines and lines[-1].startswith(f"serving {name}"), "\n".join(lines)
        yield f"127.0.0.1:{http_port}", lines
    finally:
        stop_server(server)


def _request(feed: dict[str, np.ndarray]) -> list:
    requests = []
    for name, array in feed.items():
        request = http.InferInput(name, list(array.shape), "FP32" if array.dtype == np.float32 else "INT64")
        request.set_data_from_numpy(array)
        requests.append(request)
    return requests


def _pairs(package: Path) -> list[dict[str, np.ndarray]]:
    """One image-text pair per client, each from a different row of the recorded samples."""
    with navctl.load(package) as pkg:
        inputs, _ = pkg.samples()
    rows = [(feed, i) for feed in inputs for i in range(len(feed["input_ids"]))]
    return [{n: np.ascontiguousarray(feed[n][i : i + 1]) for n in feed} for feed, i in rows[:CLIENTS]]


def test_concurrent_clients_of_a_clip_like_model_each_get_the_model_alone_answer(clip_like_run: Path) -> None:
    package = clip_like_run / "clip.nav"
    pairs = _pairs(package)
    with navctl.load(package) as pkg, pkg.runner(KEY) as runner:
        alone = [runner.infer(pair) for pair in pairs]
        tolerance = pkg.status.results[KEY].correctness.outputs
    answers: list[list[dict]] = [[] for _ in pairs]
    errors: list[BaseException] = []
    start = threading.Barrier(len(pairs))
    # a long queue delay: a server that merged requests would surely put these in one batch
    with serving(package, "clip", "--max-queue-delay-us", "200000") as (url, lines):

        def client(k: int) -> None:
            try:
                connection = http.InferenceServerClient(url)
                for _ in range(ROUNDS):
                    start.wait(timeout=60)
                    got = connection.infer("clip", _request(pairs[k]))
                    answers[k].append({n: got.as_numpy(n) for n in alone[k]})
                connection.close()
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(len(pairs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, [str(e) for e in errors]
    assert alone[0]["logits_per_image"].shape == (1, 1)
    for k, expected in enumerate(alone):
        assert len(answers[k]) == ROUNDS
        for got in answers[k]:
            for name, value in expected.items():
                assert got[name].shape == value.shape, (name, got[name].shape, value.shape)
                assert np.allclose(got[name], value, atol=tolerance[name].atol, rtol=tolerance[name].rtol), name
    said = " ".join(lines)
    assert "requests are never merged (max_batch_size 0): not every output is per sample" in said
    assert "'logits_per_image'" in said


def test_merging_options_are_refused_and_the_triton_config_runs_requests_alone(
    clip_like_run: Path, tmp_path: Path
) -> None:
    package = str(clip_like_run / "clip.nav")
    repo = tmp_path / "repo"
    made = run_cli("triton", package, "--repo", str(repo), "--format", KEY)
    assert made.returncode == 0, made.stderr
    from google.protobuf import text_format

    config = text_format.Parse((repo / "clip" / "config.pbtxt").read_text(), mc.ModelConfig())
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert [list(t.dims) for t in config.input] == [[-1, 3, 2, 2], [-1, 5]]
    for command in (
        ["triton", package, "--repo", str(repo), "--format", KEY, "--max-batch-size", "8"],
        ["serve", package, "--format", KEY, "--dynamic-batching"],
        ["loadtest", package, "--format", KEY, "--batch", "2", "--no-record"],
    ):
        refused = run_cli(*command)
        assert refused.returncode == 2, (command, refused.stderr)
        assert "outputs 'logits_per_image', 'logits_per_text': mixes samples" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr


def test_scalar_outputs_are_served_and_none_outputs_noted(project) -> None:
    recipe = project(
        (REPO / "tests" / "engine" / "batch_models.py").read_text(),
        name="scalars",
        model={"entrypoint": "model.py:scalars"},
        dataloader={"factory": "model.py:features"},
        targets=["torchscript-trace", "onnx"],
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    outputs = {o["name"]: o for o in status["outputs"]}
    assert list(outputs) == ["logits", "classes", "total"]
    assert [(outputs[n]["shape"], outputs[n]["per_sample"]) for n in ("classes", "total")] == [([], False)] * 2
    assert (outputs["logits"]["shape"], outputs["logits"]["per_sample"]) == ([2, 4], True)
    reason = status["steps"]["samples"]["reason"]
    assert reason.startswith("left out, the model returned None: 'loss'; not batchable")
    assert "outputs 'classes', 'total': a scalar (shape []), one value for the whole batch" in reason
    package = recipe.parent / "scalars.nav"
    with navctl.load(package) as pkg:
        inputs, reference = pkg.samples()
    with serving(package, "scalars") as (url, _):
        connection = http.InferenceServerClient(url)
        for feed, expected in zip(inputs, reference, strict=True):
            got = connection.infer("scalars", _request(feed))
            assert np.allclose(got.as_numpy("logits"), expected["logits"], atol=1e-4)
            # Triton holds no 0-d tensors: a scalar travels as one value
            assert got.as_numpy("classes").tolist() == [4]
            assert got.as_numpy("total").shape == (1,)
            assert np.allclose(got.as_numpy("total")[0], expected["total"], atol=1e-4, rtol=1e-3)
        connection.close()
