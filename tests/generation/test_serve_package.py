"""`navctl serve` and `navctl loadtest` on a decoder package that `navctl optimize` made (tiny Llama from
a config, random weights): the served tokens are the source model's `generate(do_sample=False)`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from navctl.generation.serving import STREAM_SUFFIX
from navctl.loadtest.generation_run import REQUESTS_PER_CLIENT
from tests.generation.tiny_lm import TINY_LM, load
from tests.helpers import load_status, run_cli, start_server, stop_server, write_project

pytestmark = pytest.mark.slow
pytest.importorskip("transformers")
pytest.importorskip("pytriton")
http = pytest.importorskip("tritonclient.http")

KEY = "onnx@onnxruntime-cpu"
PROMPT = [5, 17, 300, 42, 9, 811, 3]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decoder")
    recipe = write_project(
        folder,
        TINY_LM,
        name="tiny-llama",
        dataloader={"factory": "model.py:prompts"},
        profiling={"enabled": False},
        generation={"max_new_tokens": 4},
        step_timeout="300s",
    )
    run_cli("optimize", str(recipe), timeout=600)
    status = load_status(folder / "ws")
    assert status["results"][KEY]["generation"]["check"]["passed"], status["results"][KEY]
    return folder / "tiny-llama.nav"


def _generate(port: int, prompt: list[int], count: int, eos: int) -> list[int]:
    feed = []
    for name, value in {"input_ids": prompt, "max_new_tokens": [count], "eos_token_id": [eos]}.items():
        tensor = http.InferInput(name, [len(value)], "INT64")
        tensor.set_data_from_numpy(np.array(value, dtype=np.int64))
        feed.append(tensor)
    client = http.InferenceServerClient(f"127.0.0.1:{port}", network_timeout=60)
    try:
        return client.infer("tiny-llama", feed).as_numpy("output_ids").tolist()
    finally:
        client.close()


def test_served_generate_returns_the_source_models_tokens(package, tmp_path) -> None:
    model = load(tmp_path).build("llama")
    eos = int(model.generation_config.eos_token_id)
    with torch.no_grad():
        full = model.generate(torch.tensor([PROMPT]), max_new_tokens=20, do_sample=False, pad_token_id=0)
    expected = full[0, len(PROMPT) :].tolist()
    log = ("--log-file", str(tmp_path / "triton.log"))
    server, http_port = start_server(package, *log, ready=("tiny-llama", "tiny-llama" + STREAM_SUFFIX))
    try:
        assert _generate(http_port, PROMPT, 20, eos) == expected
        # without an end token it decodes exactly the count asked for, the same tokens up to generate's stop
        free = _generate(http_port, PROMPT, 20, -1)
        assert len(free) == 20 and free[: len(expected)] == expected
    finally:
        output = " ".join(stop_server(server).split())  # the lines as one, wherever Rich wrapped them
    assert f"serving tiny-llama ({KEY}) generate on http://127.0.0.1:{http_port}" in output, output
    assert "one request at a time per instance" in output


def test_loadtest_reports_tokens_per_second_and_first_token_time(package) -> None:
    result = run_cli("loadtest", str(package), "--concurrency", "1,2", "--duration", "10s", "--json", timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads(result.stdout)
    assert info["key"] == KEY and info["protocol"] == "grpc"
    gen = info["generation"]
    assert gen["max_new_tokens"] == 4 and "queueing included" in gen["ttft"]
    assert [p["concurrency"] for p in gen["points"]] == [1, 2]
    for point in gen["points"]:
        assert point["errors"] == 0 and 1 <= point["requests"] <= REQUESTS_PER_CLIENT * point["concurrency"]
        assert point["tokens"] == 4 * point["requests"] or point["tokens"] < 4 * point["requests"]  # eos may stop
        assert point["tokens_per_s"] == pytest.approx(point["tokens"] / point["seconds"], rel=1e-2)
        assert 0 < point["server_ttft_ms"]["p50"] <= point["ttft_ms"]["p50"]
    assert "tokens/s at concurrency" in info["answer"]
    status = run_cli("status", str(package))
    assert "generate load test" in status.stdout and "tokens/s" in status.stdout, status.stdout[-2000:]


def test_batching_options_are_refused_on_a_decoder(package) -> None:
    """Generate requests are never merged: asking for it is a usage error, before any server starts."""
    serve = run_cli("serve", str(package), "--max-batch-size", "4", timeout=120)
    assert serve.returncode == 2, serve.stderr[-2000:]
    assert "--max-batch-size: a decoder's generate requests are never batched" in " ".join(serve.stderr.split())
    loadtest = run_cli("loadtest", str(package), "--batch", "2", timeout=120)
    assert loadtest.returncode == 2, loadtest.stderr[-2000:]
    assert "--batch: does not apply to a decoder's generate load test" in " ".join(loadtest.stderr.split())
    wrong = run_cli("serve", str(package), "--format", "openvino@openvino-cpu", timeout=120)  # not in it
    assert wrong.returncode == 2 and f"servable: {KEY}" in " ".join(wrong.stderr.split()), wrong.stderr[-2000:]


def test_triton_entry_of_a_decoder_says_it_is_the_single_forward(package, tmp_path) -> None:
    """`navctl triton` writes the forward pass (what a Triton backend can run) and says where generation is."""
    result = run_cli("triton", str(package), "--repo", str(tmp_path / "repo"), "--format", KEY, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "repo" / "tiny-llama" / "config.pbtxt").is_file()
    words = " ".join(result.stderr.split())
    assert "this package holds a decoder" in words and "`navctl serve` runs the decode loop" in words
