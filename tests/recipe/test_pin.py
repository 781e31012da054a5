"""selection.pin names a candidate the recipe's plan makes: checked by `navctl validate`, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from navctl.cli.main import main

RECIPE = """\
name: pin
framework: torch
model:
  entrypoint: model.py:build
dataloader:
  factory: model.py:samples
targets: [onnx, torchscript]
selection: {{pin: {pin}}}
"""


def _validate(tmp_path: Path, capsys, pin: str, extra: str = "") -> tuple[int, str]:
    (tmp_path / "model.py").write_text("def build(): pass\ndef samples(): return []\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(pin=pin) + extra)
    code = main(["validate", str(recipe)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        (
            "onnx@wrong",
            "unknown runner 'wrong'; onnx runs on onnxruntime-cpu, onnxruntime-cuda, onnxruntime-tensorrt-cuda",
        ),
        ("onnx@onnxrt-cpu", "unknown runner 'onnxrt-cpu'; did you mean 'onnxruntime-cpu'?"),
        ("onx@onnxruntime-cpu", "unknown format 'onx'; did you mean 'onnx'?"),
        (
            "openvino@openvino-cpu",
            "the targets make no openvino; they make onnx, torchscript-trace, torchscript-script",
        ),
        (
            "onnx@torchscript-cpu",
            "onnx does not run on torchscript-cpu; its runners: onnxruntime-cpu, onnxruntime-cuda, "
            "onnxruntime-tensorrt-cuda",
        ),
        (
            "source@torch-cpu",
            "source is the recipe's own model, the baseline, never selected; pin one of onnx, torchscript-trace, "
            "torchscript-script",
        ),
        ("nope@onnxruntime-cpu", "unknown format 'nope'; the targets make onnx, torchscript-trace, torchscript-script"),
        ("torchscript@torchscript-cpu", "unknown format 'torchscript'; did you mean 'torchscript-trace'?"),
        ("onnx", "'onnx' is not 'format@runner'"),
    ],
)
def test_a_pin_the_plan_cannot_select_exits_2_at_its_line(tmp_path: Path, capsys, pin: str, message: str) -> None:
    code, err = _validate(tmp_path, capsys, pin)
    assert code == 2, err
    assert err.splitlines()[0] == f"{tmp_path / 'recipe.yaml'}:8:18: selection.pin: {message}"
    assert "1 problem;" in err and "Traceback" not in err


def test_a_pin_on_the_other_device_than_the_recipes_exits_2(tmp_path: Path, capsys) -> None:
    code, err = _validate(tmp_path, capsys, "onnx@onnxruntime-cuda", "device: cpu\n")
    assert code == 2, err
    assert err.splitlines()[0] == (
        f"{tmp_path / 'recipe.yaml'}:8:18: selection.pin: onnx@onnxruntime-cuda runs on cuda, but the recipe's "
        "device is cpu"
    )


@pytest.mark.parametrize(
    ("targets", "pin"),
    [
        ("[onnx, torchscript]", "torchscript-script@torchscript-cpu"),
        ("[onnx]", "onnx@onnxruntime-cuda"),
        ("[trt-fp16]", "onnx@onnxruntime-cpu"),  # made on the way to the engine, and a candidate too
        ("[tensorrt]", "trt-fp16@tensorrt-cuda"),
    ],
)
def test_a_pin_the_plan_makes_validates(tmp_path: Path, capsys, targets: str, pin: str) -> None:
    (tmp_path / "model.py").write_text("def build(): pass\ndef samples(): return []\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(pin=pin).replace("[onnx, torchscript]", targets))
    assert main(["validate", str(recipe)]) == 0, capsys.readouterr().err


def test_a_pin_is_not_judged_against_targets_that_are_wrong_themselves(tmp_path: Path, capsys) -> None:
    (tmp_path / "model.py").write_text("def build(): pass\ndef samples(): return []\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(pin="onnx@onnxruntime-cpu").replace("[onnx, torchscript]", "[onnx, onx]"))
    assert main(["validate", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert "1 problem;" in err and "targets[1]: unknown target 'onx'; did you mean 'onnx'?" in err, err
