"""The generate endpoint on a real Triton server (PyTriton, 127.0.0.1): served tokens against the source
model's own `generate(do_sample=False)`, through the plain and the streaming model, alone and concurrently."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from navctl.generation.loop import CacheLayout
from navctl.generation.serving import (
    STREAM_SUFFIX,
    Decoder,
    GenerateRequestError,
    generate_function,
    running,
    stream_function,
)
from navctl.generation.torch_step import CacheStep, numpy_step
from navctl.triton.serve import ServeOptions
from tests.generation.tiny_lm import load
from tests.helpers import free_ports

LAYOUT = CacheLayout(layers=2, heads=2, head_dim=16)
PROMPTS = [[5, 17, 300, 42, 9], [811, 3, 77], [64, 128, 256, 512, 999, 1, 4, 33]]
NEW_TOKENS = 12


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load(tmp_path_factory.mktemp("lm")).build("llama")


@pytest.fixture(scope="module")
def expected(model) -> dict[tuple[int, ...], list[int]]:
    """What the source model's greedy generate answers for each prompt (its generation config's eos)."""
    out = {}
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = torch.tensor([prompt])
            full = model.generate(ids, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0)
            out[tuple(prompt)] = full[0, len(prompt) :].tolist()
    return out


def _decoder(model) -> Decoder:
    return Decoder(
        numpy_step(CacheStep(model, LAYOUT.layers), LAYOUT),
        LAYOUT,
        eos=model.generation_config.eos_token_id,
        max_new_tokens=64,
        max_length=model.config.max_position_embeddings,
    )


def _request(prompt: list[int], count: int) -> dict[str, np.ndarray]:
    return {"input_ids": np.array(prompt, dtype=np.int64), "max_new_tokens": np.array([count], dtype=np.int64)}


def test_requests_are_checked_before_the_loop(model) -> None:
    decoder = _decoder(model)
    for inputs, words in [
        ({"max_new_tokens": np.array([4])}, "input_ids"),
        (_request([], 4), "non-empty"),
        (_request([1, -3], 4), "non-negative"),
        (_request([1, 2], 0), "1..64"),
        (_request([1, 2], 65), "1..64"),
        (_request(list(range(120)), 20), "128 positions"),
    ]:
        with pytest.raises(GenerateRequestError, match=words):
            decoder.request(inputs)
    with pytest.raises(GenerateRequestError, match="eos_token_id must be one integer"):
        decoder.request({**_request([1], 2), "eos_token_id": np.array([1, 2])})
    assert decoder.request(_request([1], 2))[2] == 2  # the server's end token (the model's config)
    assert decoder.request({**_request([1], 2), "eos_token_id": np.array([-1])})[2] is None
    with pytest.raises(GenerateRequestError, match="one request per call"):
        next(stream_function(decoder)([_request([1], 2), _request([2], 2)]))


def test_each_request_of_a_call_runs_alone(model, expected) -> None:
    """Two requests in one call (as a batcher would hand them) each get their own tokens, not a mix."""
    answers = generate_function(_decoder(model))([_request(p, NEW_TOKENS) for p in PROMPTS[:2]])
    for prompt, answer in zip(PROMPTS[:2], answers, strict=True):
        assert answer["output_ids"].tolist() == expected[tuple(prompt)]
        assert answer["step_ms"].shape == answer["output_ids"].shape and (answer["step_ms"] > 0).all()


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    """One instance: PyTriton 0.7 gives a second instance's stub 1 s to find the first one's handshake
    socket, which a loaded machine misses (the model then fails to load)."""
    pytest.importorskip("pytriton")
    http_port, grpc_port, metrics_port = free_ports(3)
    log = tmp_path_factory.mktemp("triton") / "triton.log"
    options = ServeOptions(http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port, log_file=log)
    with running("tiny_lm", [_decoder(model)], options, "source@torch-cpu") as names:
        assert names == ["tiny_lm", "tiny_lm" + STREAM_SUFFIX]
        yield options


@pytest.mark.slow
def test_served_tokens_match_generate(server, expected) -> None:
    http = pytest.importorskip("tritonclient.http")
    from pytriton.client import DecoupledModelClient

    def generate(prompt: list[int], count: int = NEW_TOKENS):
        feed = []
        for name, value in _request(prompt, count).items():
            tensor = http.InferInput(name, list(value.shape), "INT64")
            tensor.set_data_from_numpy(value)
            feed.append(tensor)
        # a client per call: tritonclient.http's gevent client cannot be shared between threads
        client = http.InferenceServerClient(f"127.0.0.1:{server.http_port}", network_timeout=60)
        try:
            answer = client.infer("tiny_lm", feed)
        finally:
            client.close()
        return answer.as_numpy("output_ids").tolist(), answer.as_numpy("step_ms")

    for prompt in PROMPTS:
        tokens, step_ms = generate(prompt)
        assert tokens == expected[tuple(prompt)]
        assert len(step_ms) == len(tokens) and (step_ms > 0).all()

    # concurrently (queued behind one another in the server): each answer is its own prompt's
    answers: dict[int, list[int]] = {}

    def one(index: int) -> None:
        answers[index] = generate(PROMPTS[index % len(PROMPTS)])[0]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert {i: answers.get(i) for i in range(6)} == {i: expected[tuple(PROMPTS[i % len(PROMPTS)])] for i in range(6)}

    # a refused request says why, and the server goes on serving
    with pytest.raises(Exception, match="max_new_tokens must be 1..64"):
        generate(PROMPTS[0], 0)
    assert generate(PROMPTS[1])[0] == expected[tuple(PROMPTS[1])]

    url = f"grpc://127.0.0.1:{server.grpc_port}"
    with DecoupledModelClient(url, "tiny_lm" + STREAM_SUFFIX, init_timeout_s=30) as stream:
        parts = list(stream.infer_sample(**_request(PROMPTS[2], NEW_TOKENS)))
    assert [int(p["token"][0]) for p in parts] == expected[tuple(PROMPTS[2])]
    assert all(float(p["step_ms"][0]) > 0 for p in parts)


@pytest.mark.slow
def test_generate_load_counts_tokens_and_first_token_times(server, expected) -> None:
    from navctl.loadtest.generation import measure, point_line

    prompts = [np.array(p, dtype=np.int64) for p in PROMPTS]
    points = measure(f"127.0.0.1:{server.grpc_port}", "tiny_lm", prompts, 8, [1, 3], max_requests=6, duration_s=20)
    assert [p.concurrency for p in points] == [1, 3]
    for point in points:
        assert point.errors == 0 and point.requests == 6, point
        # each answer is its prompt's greedy tokens, cut at 8 (or at eos, where generate stops too)
        assert point.tokens == sum(min(8, len(expected[tuple(PROMPTS[i % 3])])) for i in range(6))
        assert point.tokens_per_s == pytest.approx(point.tokens / point.seconds, rel=1e-2)
        # the client's first token comes after the server's prefill, and before its last token
        assert 0 < point.server_ttft_ms["p50"] <= point.ttft_ms["p50"] <= point.latency_ms["p50"]
        assert set(point.ttft_ms) == {"p50", "p90", "p99", "mean"} and point.inter_token_ms["p50"] > 0
        assert "tokens/s" in point_line(point)


def test_batching_flags_are_read_from_serve_and_loadtest_options() -> None:
    """serve's and loadtest's shared options (`batching` + `merging_asked`): what a decoder refuses."""
    from navctl.generation.served import batching_asked
    from navctl.loadtest.run import LoadtestOptions
    from navctl.records.loadtest import ServingConfig

    quiet = {"--max-batch-size": False, "--dynamic-batching": False, "--preferred-batch-size": False}
    assert batching_asked(ServeOptions()) == {**quiet, "instances": 1}
    assert batching_asked(ServeOptions(merging_asked=False, batching=ServingConfig(instances=3))) == {
        **quiet,
        "instances": 3,
    }
    assert batching_asked(ServeOptions(batching=ServingConfig(max_batch_size=4)))["--max-batch-size"]
    assert batching_asked(LoadtestOptions()) == {**quiet, "instances": 1}
    assert batching_asked(LoadtestOptions(merging_asked=True))["--dynamic-batching"]
    split = LoadtestOptions(batching=ServingConfig(preferred_batch_sizes=[2], instances=2))
    assert batching_asked(split) == {**quiet, "--preferred-batch-size": True, "instances": 2}
