"""Every kind of bad recipe exits 2, points at the file (and line where one applies), shows no
traceback, and writes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from navctl.cli.main import main

GOOD = """\
name: good
framework: torch
model:
  entrypoint: model.py:build
dataloader:
  factory: model.py:samples
targets: [onnx]
"""


def _run(recipe: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["validate", str(recipe), *extra])
    captured = capsys.readouterr()
    return code, captured.err


def _write(folder: Path, text: str | bytes, name: str = "recipe.yaml") -> Path:
    (folder / "model.py").write_text("def build(): pass\ndef samples(): return []\n")
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


CASES = {
    # case: (recipe text, expected line or None, a fragment the message must hold)
    "empty": ("", 1, "is empty"),
    "syntax": ("name: x\nframework: [torch\n", 3, "YAML syntax error"),
    "top level list": ("- a\n- b\n", 1, "top level must be a mapping"),
    "wrong type": (GOOD.replace("name: good", "name: [1, 2]"), 1, "name: input should be a valid string"),
    "unknown key": (GOOD + "targts: [onnx]\n", 8, "did you mean 'targets'"),
    "unknown nested key": (GOOD.replace("  entrypoint:", "  entrypont:"), 4, "did you mean 'entrypoint'"),
    "duplicate key": (GOOD + "name: again\n", 8, "duplicate key 'name' (first defined on line 1)"),
    "bad entrypoint syntax": (GOOD.replace("model.py:build", "model.py"), 4, "is not an entrypoint"),
    "entrypoint file missing": (GOOD.replace("model.py:build", "nothere.py:build"), 4, "does not exist"),
    "unknown target": (GOOD.replace("[onnx]", "[onx]"), 7, "did you mean 'onnx'"),
    "target not for framework": (GOOD.replace("[onnx]", "[tf-savedmodel]"), 7, "cannot be made from a torch model"),
    "zero batch size": (GOOD + "batching: {max_batch_size: 0}\n", 8, "greater than 0"),
    "negative batch sizes": (GOOD + "profiling: {batch_sizes: [4, -1]}\n", 8, "greater than 0"),
    "negative tolerance": (GOOD + "correctness: {atol: -1.0e-5}\n", 8, "greater than or equal to 0"),
    "bad duration": (GOOD + "step_timeout: 5 parsecs\n", 8, "is not a duration"),
    "bad device": (GOOD + "device: gpu\n", 8, "did you mean 'cpu'"),
    "kwargs not a mapping": (
        GOOD.replace("  factory: model.py:samples", "  factory: model.py:samples\n  kwargs: [1]"),
        7,
        "must be a mapping",
    ),
    "gate for an unknown format": (
        GOOD + "correctness:\n  formats:\n    onnx-int9: {min_cosine: 0.99}\n",
        10,
        "unknown format 'onnx-int9'; did you mean 'onnx-int8'?",
    ),
    "cosine floor above 1": (
        GOOD + "correctness:\n  formats:\n    onnx-int8: {min_cosine: 1.5}\n",
        10,
        "less than or equal to 1",
    ),
    "calibration factory missing": (
        GOOD + "quantization:\n  calibration: {factory: calib.py:samples}\n",
        9,
        "does not exist",
    ),
    "framework typo": (GOOD.replace("framework: torch", "framework: pytorch"), 2, "did you mean 'torch'"),
    "missing field": ("name: x\nframework: torch\ntargets: [onnx]\n", 1, "model: is required"),
    "dataloader missing": (
        GOOD.replace("dataloader:\n  factory: model.py:samples\n", ""),
        1,
        "dataloader: is required for framework torch",
    ),
    "path model for torch": (
        GOOD.replace("  entrypoint: model.py:build", "  path: model.onnx"),
        4,
        "path: models are for framework onnx",
    ),
    "budget strategy without budget": (
        GOOD + "selection: {strategies: [max-throughput-within-latency-budget]}\n",
        8,
        "needs selection.latency_budget_ms",
    ),
    "batch size above max": (
        GOOD + "batching: {max_batch_size: 8}\nprofiling: {batch_sizes: [1, 16]}\n",
        9,
        "exceed batching.max_batch_size",
    ),
    "axis range upside down": (
        GOOD + "inputs:\n  - name: x\n    axes:\n      1: {min: 40, max: 20}\n",
        11,
        "inputs[0].axes.1: min 40 is above max 20",
    ),
    "range on the batch axis": (GOOD + "inputs:\n  - name: x\n    axes: {0: {max: 4}}\n", 10, "is the batch axis"),
    "range on an output": (GOOD + "outputs:\n  - name: y\n    axes: {1: {max: 4}}\n", 10, "given for inputs"),
    "symbol not an identifier": (
        GOOD + "inputs:\n  - name: x\n    axes: {1: {symbol: 9x}}\n",
        10,
        "inputs[0].axes.1.symbol: string should match pattern",
    ),
    "unknown profiled shape": (
        GOOD + "profiling:\n  shapes: [typical, huge]\n",
        9,
        "profiling.shapes[1]: 'huge' is not one of typical, min, max",
    ),
    "tab indentation": ("name: x\nmodel:\n\tentrypoint: a.py:b\n", 3, "YAML syntax error"),
    "bad opset": (GOOD + "onnx: {opset: 3}\n", 8, "greater than or equal to 7"),
    "unknown precision": (GOOD + "tensorrt: {precisions: [fp8]}\n", 8, "is not one of"),
    "pin without runner": (GOOD + "selection: {pin: onnx}\n", 8, "is not 'format@runner'"),
    "negative threads": (GOOD + "threads: -2\n", 8, "greater than 0"),
    "bad name": (GOOD.replace("name: good", "name: 'my model!'"), 1, "should match pattern"),
    "unknown module entrypoint": (GOOD.replace("model.py:build", "no_such_module_xyz:build"), 4, "cannot be found"),
    "empty targets": (GOOD.replace("[onnx]", "[]"), 7, "at least 1 item"),
    "entrypoint function misspelt": (GOOD.replace("model.py:build", "model.py:buidl"), 4, "did you mean 'build'"),
    "factory function missing": (GOOD.replace("model.py:samples", "model.py:loader"), 6, "defines no 'loader'"),
    "runtime file glob matching nothing": (
        GOOD + "runtime_files: [model.py, weights/*.pt]\n",
        8,
        "runtime_files[1]: 'weights/*.pt' matches no file",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_recipe_exits_2_with_position(case: str, tmp_path: Path, capsys) -> None:
    text, line, fragment = CASES[case]
    recipe = _write(tmp_path, text)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _run(recipe, capsys)
    assert code == 2, err
    assert fragment in err, err
    assert "Traceback" not in err
    if line is not None:
        assert re.search(rf"^{re.escape(str(recipe))}:{line}:\d+: ", err, re.M), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_a_value_failing_a_union_gets_the_message_of_its_own_kind(tmp_path: Path, capsys) -> None:
    # `batch_sizes: auto | [sizes]`: a list with a bad size is not also "not one of auto"
    code, err = _run(_write(tmp_path, GOOD + "profiling: {batch_sizes: [4, -1]}\nselection: {shape: huge}\n"), capsys)
    assert code == 2 and "2 problems" in err, err
    assert "batch_sizes[1]: input should be greater than 0" in err and "not one of auto" not in err
    assert "selection.shape: 'huge' is not one of typical, min, max" in err and "mapping" not in err


def test_syntax_error_in_the_model_file(tmp_path: Path, capsys) -> None:
    recipe = _write(tmp_path, GOOD)
    (tmp_path / "model.py").write_text("def build(:\n    pass\n")
    code, err = _run(recipe, capsys)
    assert code == 2
    assert re.search(rf"^{re.escape(str(recipe))}:4:\d+: model.entrypoint: model.py:1:\d+: syntax error", err, re.M), (
        err
    )


def test_missing_file(tmp_path: Path, capsys) -> None:
    code, err = _run(tmp_path / "nope.yaml", capsys)
    assert code == 2 and "nope.yaml: no such file" in err


def test_directory_instead_of_file(tmp_path: Path, capsys) -> None:
    code, err = _run(tmp_path, capsys)
    assert code == 2 and "is a directory" in err


def test_binary_garbage(tmp_path: Path, capsys) -> None:
    recipe = _write(tmp_path, bytes(range(256)) * 4)
    code, err = _run(recipe, capsys)
    assert code == 2 and "binary file" in err and "Traceback" not in err


def test_not_utf8(tmp_path: Path, capsys) -> None:
    recipe = _write(tmp_path, b"name: caf\xe9\n")
    code, err = _run(recipe, capsys)
    assert code == 2 and "not UTF-8" in err


def test_alias_bomb_is_refused_quickly(tmp_path: Path, capsys) -> None:
    import time

    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    recipe = _write(tmp_path, "\n".join(lines) + "\n")
    started = time.monotonic()
    code, err = _run(recipe, capsys)
    assert code == 2 and "alias bomb" in err
    assert time.monotonic() - started < 5


def test_all_errors_reported_at_once(tmp_path: Path, capsys) -> None:
    text = GOOD.replace("[onnx]", "[onx]") + "device: gpu\nstep_timeout: soon\n"
    code, err = _run(_write(tmp_path, text), capsys)
    assert code == 2
    assert "targets[0]" in err and "device" in err and "step_timeout" in err
    assert "3 problems" in err


def test_github_actions_annotations(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    recipe = _write(tmp_path, GOOD + "device: gpu\n")
    code, err = _run(recipe, capsys)
    assert code == 2
    assert f"::error file={recipe},line=8,col=9::device: 'gpu' is not one of" in err


def test_cli_subprocess_has_no_traceback(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    recipe = _write(tmp_path, GOOD + "device: gpu\n")
    for command in ("validate", "plan", "optimize"):
        result = run_cli(command, str(recipe))
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert ":8:9: device:" in result.stderr
    assert not (tmp_path / "navigator_workspace").exists()
