"""The option parsers accept what they should (the bad values are swept in tests/reliability)."""

from __future__ import annotations

import pytest

from navctl.cli import checks
from navctl.errors import UsageError


def test_levels_take_lists_and_ranges() -> None:
    assert checks.levels("1,2,4", "--concurrency", whole=True) == [1, 2, 4]
    assert all(isinstance(v, int) for v in checks.levels("1:3", "--concurrency", whole=True))
    assert checks.levels("100:300:100", "--request-rate", whole=False) == [100.0, 200.0, 300.0]
    assert checks.levels("2.5", "--request-rate", whole=False) == [2.5]
    assert checks.levels("0,100", "--tune-delays", whole=True, zero_ok=True) == [0, 100]
    assert checks.levels("0:200:100", "--tune-delays", whole=True, zero_ok=True) == [0, 100, 200]
    assert len(checks.levels("1:1000:1", "--concurrency", whole=True)) == checks.MAX_LEVELS
    with pytest.raises(UsageError, match="--request-rate 0:10: a range needs 0 < START"):
        checks.levels("0:10", "--request-rate", whole=False)


def test_the_other_parsers_accept_what_users_write() -> None:
    assert checks.duration("20ms", "--latency-budget") == pytest.approx(0.02)
    assert checks.duration("1h30m", "--duration") == 5400
    assert checks.percent("2.5%", "--fail-on-regression") == 2.5
    for address in ("auto", "10.0.0.5:6379", "ray://head.example.com:10001"):
        checks.ray_address(address)
    assert checks.ray_resources('{"accelerator_type:H100": 0.001, "GPU": 1}') == {
        "accelerator_type:H100": 0.001,
        "GPU": 1,
    }
    assert checks.ray_resources(None) is None
    for address in ("127.0.0.1", "0.0.0.0", "::", "localhost", "node-1.cluster.local"):
        assert checks.listen_address(address) == address
    for key in ("onnx@onnxruntime-cpu", "source@torch-cpu", "trt-fp16@tensorrt-cuda", None):
        checks.format_key(key)
    for strategy in ("max-throughput", "min-latency", "max-throughput-within-latency-budget"):
        checks.strategy(strategy)
    checks.distinct_ports(http_port=8000, grpc_port=8001, metrics_port=8002)
    checks.model_name("bert-base_v1.2")
    checks.batching(8, [4, 8], True)
    checks.batching(None, [64], True)  # against the package's own maximum: checked once it is read


def test_format_names_a_runner_that_runs_the_format() -> None:
    # the same check as a recipe's selection.pin (navctl.plan.registry.key_problem)
    with pytest.raises(UsageError) as caught:
        checks.format_key("onnx@torchscript-cpu")
    assert caught.value.message == (
        "--format onnx@torchscript-cpu: onnx does not run on torchscript-cpu; its runners: onnxruntime-cpu, "
        "onnxruntime-cuda, onnxruntime-tensorrt-cuda"
    )
