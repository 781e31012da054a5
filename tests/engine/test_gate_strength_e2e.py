"""Checks that cannot pass by accident, end to end: an input-insensitive classifier (a large constant
offset in its activations makes one class win for every input) passes its INT8 gate with cosine ~1 and
top-1 100%, and navctl says the pass proves little; a recipe's chosen exporter keeps a trace its tracer warned about; a
TorchScript artifact using an operator a library registers at import runs in fresh step processes."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from tests.helpers import FAST_PROFILING, load_status, run_cli, write_project

pytestmark = pytest.mark.slow

INSENSITIVE = """
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.fc = torch.nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        if x.shape[-1] != 8:  # a size guard, as vision models have: the tracer warns about it
            x = torch.nn.functional.interpolate(x, size=(8, 8))
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def build():
    # like a random-weight vision model: activations sit on a large constant that the input barely moves,
    # so one class wins for every input and the logits change with the input by a few hundredths
    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.conv.weight.mul_(0.01)
        net.conv.bias.fill_(50.0)
    return net


def samples(count=8, batch=4):
    g = torch.Generator().manual_seed(1)
    return [torch.randn(batch, 3, 8, 8, generator=g) for _ in range(count)]


def same_classes(outputs, reference):
    return all((o["output_0"].argmax(-1) == r["output_0"].argmax(-1)).all() for o, r in zip(outputs, reference))
"""


@pytest.fixture(scope="module")
def insensitive(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("insensitive")
    recipe = write_project(
        folder,
        INSENSITIVE,
        name="insensitive",
        targets=["onnx", "onnx-int8"],
        quantization={"onnx": {"mode": "dynamic"}},
        onnx={"exporter": "torchscript"},
        verify={"function": "model.py:same_classes"},
        profiling={**FAST_PROFILING, "enabled": False},
    )
    summary = folder / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    result = run_cli("optimize", str(recipe), "--no-package", env=env, timeout=600)
    shown = run_cli("status", str(folder / "ws"))
    return {"result": result, "status": load_status(folder / "ws"), "summary": summary.read_text(), "shown": shown}


def test_an_input_insensitive_classifier_passes_its_gate_and_is_flagged(insensitive) -> None:
    result = insensitive["result"]
    assert result.returncode == 0, result.stderr[-4000:]
    results = insensitive["status"]["results"]
    int8 = results["onnx-int8@onnxruntime-cpu"]["correctness"]
    logits = int8["outputs"]["output_0"]
    assert int8["passed"] and int8["precision"] == "int8" and int8["proves_little"]
    assert logits["cosine"] > 0.999 and logits["top1"] == 1.0 and logits["top1_baseline"] == 1.0
    assert 0 < logits["input_spread"] < 0.05 and logits["error_to_input_spread"] > 0.5 and logits["proves_little"]
    assert logits["error_to_spread"] < 0.1  # the overall spread (of the class offsets) hid it
    assert "of how much the output changes with the input" in logits["warning"]
    assert "top-1 agreement cannot fail: 16 of 16 inputs give class" in logits["warning"]
    # full precision: rtol 1e-3 of logits in the tens lets through more than the input changes
    onnx = results["onnx@onnxruntime-cpu"]["correctness"]["outputs"]["output_0"]
    assert onnx["proves_little"] and "the tolerance (atol + rtol * |ref|" in onnx["warning"]
    # verify compares classes: a reference moved by its input-driven spread passes it too
    for key in ("onnx@onnxruntime-cpu", "onnx-int8@onnxruntime-cpu"):
        verify = results[key]["verify"]
        assert verify["passed"] and verify["perturbed_passed"] and verify["proves_little"], key


def test_the_weak_pass_shows_in_the_table_the_notes_the_summary_and_status(insensitive) -> None:
    # Rich wraps notes at the terminal's width (80 under pytest-xdist, which sets COLUMNS): read words
    stderr = " ".join(insensitive["result"].stderr.split())
    assert "passed (weak)" in stderr and "top-1 100.0% (baseline 100%)" in stderr
    assert "correctness (onnx-int8@onnxruntime-cpu): output 'output_0': the pass proves little" in stderr
    assert "verify: every format passed, and so did a copy of the reference perturbed" in stderr
    assert "| passed (weak) |" in insensitive["summary"] and "the pass proves little" in insensitive["summary"]
    shown = insensitive["shown"]
    assert shown.returncode == 0 and "passed (weak)" in shown.stdout and "proves little" in shown.stdout


def test_a_chosen_exporter_keeps_the_trace_its_tracer_warned_about_and_records_why(insensitive) -> None:
    export = insensitive["status"]["steps"]["export/onnx"]
    assert export["state"] == "ok" and export["made_by"] == "torchscript"
    assert len(export["warnings"]) == 1 and export["warnings"][0].startswith(
        "TracerWarning: Converting a tensor to a Python boolean might cause the trace to be incorrect."
    )
    assert export["warnings"][0].endswith("(model.py:12)")
    assert export["reason"].startswith("made by the torchscript exporter the recipe chose, with 1 warning")
    assert "export/onnx: made by the torchscript exporter the recipe chose" in insensitive["result"].stderr


CUSTOM_OP_LIBRARY = """
import torch


@torch.library.custom_op("navctl_test_ops::shift", mutates_args=())
def shift(x: torch.Tensor) -> torch.Tensor:
    return x + 1.0


@shift.register_fake
def _(x):
    return torch.empty_like(x)
"""

CUSTOM_OP_MODEL = """
import torch
import navctl_test_ops  # noqa: F401 - registers navctl_test_ops::shift, as torchvision registers its ops


class Shifted(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return torch.ops.navctl_test_ops.shift(self.fc(x))


def build():
    torch.manual_seed(0)
    return Shifted().eval()


def samples(count=2, batch=2):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 8, generator=g) for _ in range(count)]
"""


def test_a_torchscript_artifact_finds_the_ops_its_library_registers_at_import(tmp_path: Path) -> None:
    # an installed library (on the path, not beside the recipe), in fresh interpreters that never
    # import the model file: the correctness and profile runners must import it themselves
    package = tmp_path / "site" / "navctl_test_ops"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(CUSTOM_OP_LIBRARY))
    recipe = write_project(
        tmp_path / "project",
        CUSTOM_OP_MODEL,
        name="customop",
        targets=["torchscript-trace"],
        profiling={**FAST_PROFILING, "batch_sizes": [1]},
    )
    path = os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])
    result = run_cli(
        "optimize", str(recipe), "--no-package", env={"PYTHONPATH": path, "NAVCTL_LAUNCHER": "fresh"}, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    status = load_status(recipe.parent / "ws")
    assert status["results"]["torchscript-trace@torchscript-cpu"]["correctness"]["passed"]
    assert status["results"]["torchscript-trace@torchscript-cpu"]["profile"]
    assert status["selection"]["max-throughput"] == "torchscript-trace@torchscript-cpu"
