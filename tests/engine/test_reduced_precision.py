"""INT8 end to end on small classifiers the tests build: ONNX Runtime and NNCF quantize on calibration
samples, each INT8 format is checked only on samples its calibration never saw; a model that keeps its
accuracy passes and deploys, a model built to break INT8 is rejected (shown, never selected, exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import FAST_PROFILING, load_status, run_cli, write_project

CLASSIFIER = """
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def _prototypes():
    return torch.randn(10, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def build():
    # a template-matching classifier: ten prototype classes with clear margins, as training leaves them
    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        features = torch.relu(net.conv(_prototypes())).flatten(1)
        features -= features.mean(0)
        net.fc.weight.copy_(features / features.norm(dim=1, keepdim=True))
        net.fc.bias.zero_()
    return net


def build_outlier():
    # one activation channel 10^4 times the rest: a per-tensor INT8 scale leaves the others nothing
    net = build()
    with torch.no_grad():
        net.conv.weight[0] *= 1e4
        net.conv.bias[0] *= 1e4
        net.fc.weight.view(10, 8, 64)[:, 0] /= 1e4
    return net


def samples(count=8, batch=4):
    g = torch.Generator().manual_seed(2)
    protos = _prototypes()
    return [protos[torch.randint(0, 10, (batch,), generator=g)] + 0.5 * torch.randn(batch, 3, 8, 8, generator=g)
            for _ in range(count)]


def same_classes(outputs, reference):
    agree = sum(int((o["output_0"].argmax(-1) == r["output_0"].argmax(-1)).sum()) for o, r in zip(outputs, reference))
    rows = sum(r["output_0"].shape[0] for r in reference)
    return agree == rows, f"{agree}/{rows} rows over {len(outputs)} samples"
"""

INT8_TARGETS = ["onnx", "onnx-int8", "openvino", "openvino-int8"]


def _checked_apart(status: dict, fmt: str, runner: str) -> list[int]:
    """The samples the format was checked on, asserting none of them calibrated it."""
    calibration = status["steps"][f"convert/{fmt}"]["calibration"]
    correctness = status["results"][f"{fmt}@{runner}"]["correctness"]
    assert calibration["source"] == "split" and correctness["calibration"] == "split"
    assert not set(calibration["indices"]) & set(correctness["samples"])
    return correctness["samples"]


@pytest.mark.slow
def test_int8_formats_that_keep_accuracy_pass_are_quantized_and_deploy(tmp_path: Path) -> None:
    recipe = write_project(
        tmp_path,
        CLASSIFIER,
        name="classifier",
        targets=INT8_TARGETS,
        verify={"function": "model.py:same_classes"},
        quantization={"openvino": {"max_drop": 0.01}},  # NNCF's accuracy control, on the calibration half
        selection={"pin": "onnx-int8@onnxruntime-cpu"},
        profiling=dict(FAST_PROFILING),
    )
    result = run_cli("optimize", str(recipe), "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    status = load_status(tmp_path / "ws")
    steps, results = status["steps"], status["results"]
    assert "accuracy control (max_drop 0.01)" in steps["convert/openvino-int8"]["reason"]
    for fmt, runner in (("onnx-int8", "onnxruntime-cpu"), ("openvino-int8", "openvino-cpu")):
        assert _checked_apart(status, fmt, runner) == [4, 5, 6, 7]
        entry = results[f"{fmt}@{runner}"]
        output = entry["correctness"]["outputs"]["output_0"]
        assert entry["correctness"]["passed"] and entry["correctness"]["precision"] == "int8"
        assert output["cosine"] > 0.99 and output["top1"] == 1.0 and 0 < output["mean_abs"] <= output["max_abs"]
        assert entry["verify"]["message"] == "16/16 rows over 4 samples"  # verify saw the checked half only
        assert entry["profile"]
    assert results["onnx@onnxruntime-cpu"]["verify"]["message"] == "32/32 rows over 8 samples"

    import onnx
    import openvino as ov

    ops = {node.op_type for node in onnx.load(str(tmp_path / "ws" / "onnx-int8" / "model.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    ir = ov.Core().read_model(str(tmp_path / "ws" / "openvino-int8" / "model.xml"))
    assert "FakeQuantize" in {op.get_type_name() for op in ir.get_ops()}

    rows = {f"{r['format']}@{r['runner']}": r for r in json.loads(result.stdout)["results"]}
    assert (
        rows["openvino-int8@openvino-cpu"]["precision"] == "int8" and rows["onnx@onnxruntime-cpu"]["cosine"] > 0.999999
    )
    assert status["selection"]["pinned"] == "onnx-int8@onnxruntime-cpu"
    package = str(tmp_path / "classifier.nav")
    deployed = run_cli("triton", package, "--repo", str(tmp_path / "repo"), "--strategy", "pinned")
    assert deployed.returncode == 0, deployed.stderr
    assert 'platform: "onnxruntime_onnx"' in (tmp_path / "repo" / "classifier" / "config.pbtxt").read_text()
    served = onnx.load(str(tmp_path / "repo" / "classifier" / "1" / "model.onnx"))
    assert "QuantizeLinear" in {node.op_type for node in served.graph.node}


@pytest.mark.slow
def test_a_model_that_breaks_int8_is_rejected_not_failed(tmp_path: Path) -> None:
    recipe = write_project(
        tmp_path,
        CLASSIFIER,
        name="outlier",
        model={"entrypoint": "model.py:build_outlier"},
        targets=["onnx", "int8"],
        profiling=dict(FAST_PROFILING),
    )
    result = run_cli("optimize", str(recipe), timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]  # a rejection is an answer, not a fault
    status = load_status(tmp_path / "ws")
    for fmt, runner in (("onnx-int8", "onnxruntime-cpu"), ("openvino-int8", "openvino-cpu")):
        step = status["steps"][f"correctness/{fmt}@{runner}"]
        assert step["state"] == "rejected" and "top-1 agreement" in step["reason"], step
        assert status["steps"][f"profile/{fmt}@{runner}"]["state"] == "skipped"
        output = status["results"][f"{fmt}@{runner}"]["correctness"]["outputs"]["output_0"]
        assert output["cosine"] < 0.99 and output["top1"] < 0.99 and output["max_abs"] > 0
        assert f"correctness/{fmt}@{runner}: rejected (int8 gate)" in result.stderr  # the reason, under the table
    assert set(status["selection"].values()) <= {"onnx@onnxruntime-cpu", "openvino@openvino-cpu"}


@pytest.mark.slow
def test_one_sample_cannot_keep_calibration_apart_exit_2(tmp_path: Path) -> None:
    recipe = write_project(
        tmp_path, name="one", targets=["onnx-int8"], dataloader={"factory": "model.py:samples", "kwargs": {"count": 1}}
    )
    result = run_cli("optimize", str(recipe), timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert f"{recipe}:" in result.stderr and "onnx-int8 calibrate on samples their check never sees" in result.stderr
    assert "dataloader gave 1 sample" in result.stderr and "Traceback" not in result.stderr
    assert load_status(tmp_path / "ws")["steps"]["convert/onnx-int8"]["state"] == "skipped"
