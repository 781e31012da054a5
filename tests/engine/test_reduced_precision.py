"""INT8 end to end on a small classifier: ONNX Runtime and NNCF quantize on calibration samples, each
format is checked only on samples its calibration never saw, one that misses its gate is rejected (shown,
never selected, exit 0), one that passes is profiled, selectable and deployable on its Triton backend."""

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


def build():
    torch.manual_seed(0)
    return Net().eval()


def samples(count=8, batch=4):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 3, 8, 8, generator=g) for _ in range(count)]


def count_samples(outputs, reference):
    return True, f"{len(outputs)} samples"
"""


@pytest.mark.slow
def test_int8_formats_are_gated_on_samples_calibration_never_saw(tmp_path: Path) -> None:
    recipe = write_project(
        tmp_path,
        CLASSIFIER,
        name="classifier",
        targets=["onnx", "int8"],
        verify={"function": "model.py:count_samples"},
        quantization={"openvino": {"max_drop": 0.01}},  # NNCF's accuracy control, on the calibration half
        profiling=dict(FAST_PROFILING),
        correctness={
            "formats": {
                "onnx-int8": {"min_cosine": 0.999999},  # INT8 cannot keep this: rejected
                "openvino-int8": {"min_cosine": 0.9, "min_top1": 0.5},
            }
        },
    )
    result = run_cli("optimize", str(recipe), "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]  # a rejection is an answer, not a failure
    status = load_status(tmp_path / "ws")
    steps, results = status["steps"], status["results"]
    assert "calibrated on 4 samples (split)" in steps["convert/onnx-int8"]["reason"]
    assert (
        "accuracy control (max_drop 0.01), calibrated on 4 samples (split)" in steps["convert/openvino-int8"]["reason"]
    )

    rejected = steps["correctness/onnx-int8@onnxruntime-cpu"]
    assert rejected["state"] == "rejected" and "cosine" in rejected["reason"] and "< 0.999999" in rejected["reason"]
    assert steps["profile/onnx-int8@onnxruntime-cpu"]["state"] == "skipped"
    int8 = results["onnx-int8@onnxruntime-cpu"]["correctness"]
    assert int8["precision"] == "int8" and int8["calibration"] == "split" and int8["samples"] == [4, 5, 6, 7]
    assert 0.9 < int8["outputs"]["output_0"]["cosine"] < 0.999999

    passed = results["openvino-int8@openvino-cpu"]
    assert passed["correctness"]["passed"] and passed["correctness"]["samples"] == [4, 5, 6, 7]
    assert passed["verify"]["message"] == "4 samples"  # verify saw the checked half only
    assert results["onnx@onnxruntime-cpu"]["verify"]["message"] == "8 samples"  # full precision: every sample
    assert passed["profile"] and passed["correctness"]["outputs"]["output_0"]["top1"] >= 0.5
    assert "onnx-int8@onnxruntime-cpu" not in status["selection"].values()

    rows = {f"{r['format']}@{r['runner']}": r for r in json.loads(result.stdout)["results"]}
    assert rows["onnx-int8@onnxruntime-cpu"]["correctness"] == "rejected"
    assert rows["openvino-int8@openvino-cpu"]["precision"] == "int8"

    repo = tmp_path / "repo"
    deployed = run_cli(
        "triton", str(tmp_path / "classifier.nav"), "--repo", str(repo), "--format", "openvino-int8@openvino-cpu"
    )
    assert deployed.returncode == 0, deployed.stderr
    config = (repo / "classifier" / "config.pbtxt").read_text()
    assert 'backend: "openvino"' in config
    assert (repo / "classifier" / "1" / "model.xml").is_file()
