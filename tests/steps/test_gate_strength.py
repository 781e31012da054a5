"""How much a passed check proves, on numpy arrays: the input-driven spread, the proves-little rule for
tolerances, cosine and top-1 gates, and the verify step's perturbed reference."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from navctl.contract.records import TensorMeta
from navctl.contract.step import CallableRef
from navctl.contract.tensors import ModelIO, save_arrays
from navctl.steps.child import StepContext
from navctl.steps.correctness import compare
from navctl.steps.gate_strength import input_spread, perturbed_copy
from navctl.steps.verify import run_verify
from tests.helpers import step_spec

GATE = {"min_cosine": 0.99, "min_top1": 0.99}


def _insensitive_logits(seed: int = 0) -> list[dict[str, np.ndarray]]:
    """A random-weight classifier as the issue met it: logits far apart per class (large overall spread)
    that barely move with the input (std across inputs ~5.6e-3); 31 of 32 inputs give class 0."""
    rng = np.random.default_rng(seed)
    offsets = np.linspace(2.0, -2.0, 10)
    offsets[5] = 1.96
    samples = []
    for _ in range(8):
        logits = offsets + 5.6e-3 * rng.normal(size=(4, 10))
        samples.append({"logits": logits.astype(np.float32)})
    samples[3]["logits"][1, 5] = 2.06  # the one input of 32 whose class differs
    return samples


def _with_error(reference: list[dict[str, np.ndarray]], std: float, seed: int = 1) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{n: (a + std * rng.normal(size=a.shape)).astype(a.dtype) for n, a in r.items()} for r in reference]


def test_input_spread_is_the_spread_across_inputs_not_across_elements() -> None:
    reference = _insensitive_logits()
    arrays = [r["logits"] for r in reference]
    spread = input_spread(arrays, batch_axis=0)
    assert spread is not None and 4e-3 < spread < 1e-2  # nothing like the overall spread:
    assert float(np.concatenate([a.ravel() for a in arrays]).std()) > 1.0
    # two inputs differing by 2 in every element: each element's std across them is 1
    assert input_spread([np.zeros((1, 3)), np.full((1, 3), 2.0)], batch_axis=0) == pytest.approx(1.0)
    # rows along the batch axis are inputs; without batching each sample is one input
    assert input_spread([np.array([[0.0], [2.0]])], batch_axis=0) == pytest.approx(1.0)
    assert input_spread([np.array([[0.0], [2.0]])], batch_axis=None) is None
    # inputs of different shapes are compared only with inputs of their own shape
    mixed = [np.zeros((2, 3)), np.array([[0.0, 0.0], [2.0, 2.0]])]
    assert input_spread(mixed, batch_axis=0) == pytest.approx(np.sqrt((0.0 * 2 * 3 + 1.0 * 2 * 2) / (2 * 3 + 2 * 2)))
    assert input_spread([np.zeros((1, 3))], batch_axis=0) is None  # one input: nothing to compare


def test_an_int8_error_as_large_as_the_input_spread_proves_little_despite_cosine_and_top1() -> None:
    reference = _insensitive_logits()
    result = compare(_with_error(reference, 5.8e-3), reference, {"logits": None}, GATE)
    logits = result.outputs["logits"]
    assert result.passed and logits.cosine > 0.9999 and logits.top1 == 1.0
    assert logits.error_to_spread < 0.02  # the overall spread hides it
    assert logits.error_to_input_spread > 0.5 and logits.input_spread < 1e-2
    assert logits.proves_little and result.proves_little
    assert "of how much the output changes with the input" in logits.warning
    assert "31 of 32 inputs give class 0" in logits.warning and logits.top1_baseline == pytest.approx(31 / 32)
    assert result.warnings == [f"output 'logits': {logits.warning}"]


def test_a_small_error_on_inputs_of_many_classes_proves_something() -> None:
    rng = np.random.default_rng(2)
    reference = [{"logits": rng.normal(size=(4, 10)).astype(np.float32)} for _ in range(8)]
    result = compare(_with_error(reference, 1e-3), reference, {"logits": None}, GATE)
    logits = result.outputs["logits"]
    assert result.passed and not logits.proves_little and not result.proves_little and not logits.warning
    assert logits.input_spread == pytest.approx(1.0, rel=0.2) and logits.error_to_input_spread < 0.01
    assert logits.top1_baseline < 0.5


def test_a_top1_gate_on_inputs_that_all_give_one_class_proves_little_even_without_error() -> None:
    rng = np.random.default_rng(3)
    reference = [{"scores": (np.array([5.0, 0, 0]) + rng.normal(size=(4, 3))).astype(np.float32)} for _ in range(4)]
    result = compare(reference, reference, {"scores": None}, GATE)
    scores = result.outputs["scores"]
    assert scores.top1 == 1.0 and scores.top1_baseline == 1.0 and scores.proves_little
    assert "16 of 16 inputs give class 0, so a format that always answers 0 scores 100.0%" in scores.warning


def test_a_tolerance_wider_than_the_input_spread_proves_little_for_a_full_precision_format() -> None:
    rng = np.random.default_rng(4)
    # outputs near 1000 that move by 0.1 with the input: rtol 1e-3 alone lets through 1.0
    reference = [{"y": (1000.0 + 0.1 * rng.normal(size=(2, 4))).astype(np.float32)} for _ in range(4)]
    result = compare(reference, reference, {"y": (1e-4, 1e-3)})
    y = result.outputs["y"]
    assert result.passed and y.max_abs == 0.0 and y.proves_little
    assert "the tolerance (atol + rtol * |ref|, rms 1) lets through errors of" in y.warning
    tight = compare(reference, reference, {"y": (1e-4, 0.0)})
    assert not tight.outputs["y"].proves_little and tight.outputs["y"].error_to_input_spread == 0.0


def test_a_failed_check_is_never_called_weak_and_a_constant_output_always_is() -> None:
    reference = _insensitive_logits()
    far = [{"logits": r["logits"] + np.float32(1.0)} for r in reference]
    failed = compare(far, reference, {"logits": (1e-4, 1e-3)})
    assert not failed.passed and not failed.outputs["logits"].proves_little and not failed.proves_little
    constant = [{"y": np.ones((2, 3), np.float32)} for _ in range(3)]
    same = compare(constant, constant, {"y": (1e-6, 0.0)})
    assert same.outputs["y"].input_spread == 0.0 and same.outputs["y"].proves_little
    assert "the same for every sample" in same.outputs["y"].warning


def test_the_perturbed_reference_moves_floats_by_the_spread_and_gives_ids_another_inputs_value() -> None:
    rng = np.random.default_rng(5)
    reference = [
        {"y": rng.normal(size=(4, 64)).astype(np.float32), "ids": np.arange(4, dtype=np.int64) + 4 * i}
        for i in range(50)
    ]
    spreads = {"y": 0.5, "ids": input_spread([r["ids"] for r in reference], 0)}
    copy = perturbed_copy(reference, spreads, batch_axis=0, seed=0)
    noise = np.concatenate([(c["y"] - r["y"]).ravel() for c, r in zip(copy, reference, strict=True)])
    assert noise.std() == pytest.approx(0.5, rel=0.05) and copy[0]["y"].dtype == np.float32
    assert copy[0]["ids"].tolist() == [1, 2, 3, 4] and copy[-1]["ids"][-1] == 0  # cyclic: every input moved
    assert perturbed_copy([{"y": np.zeros((1, 2))}], {"y": None}, batch_axis=0, seed=0) is None


CHECKS = """
import numpy as np


def loose(outputs, reference):
    return all(o["logits"].shape == r["logits"].shape for o, r in zip(outputs, reference)), "shapes"


def strict(outputs, reference):
    return all(np.allclose(o["logits"], r["logits"], atol=1e-5) for o, r in zip(outputs, reference))
"""


def _verify_workspace(tmp_path: Path, reference: list[dict[str, np.ndarray]]) -> Path:
    """A workspace with recorded samples and a correctness step's outputs (the reference itself)."""
    io = ModelIO(
        inputs=[TensorMeta(name="x", dtype="float32", shape=[-1, 2])],
        outputs=[TensorMeta(name="logits", dtype="float32", shape=[-1, 10])],
        call="positional",
        batching=True,
        batch_axis=0,
        samples=len(reference),
    )
    io.write(tmp_path / "model_io.json")
    for i, ref in enumerate(reference):
        save_arrays(tmp_path / "model_input" / f"{i}.npz", [np.zeros((4, 2), np.float32)])
        save_arrays(tmp_path / "model_output" / f"{i}.npz", [ref["logits"]])
        save_arrays(tmp_path / "outputs" / f"{i}.npz", [ref["logits"]])
    (tmp_path / "checks.py").write_text(textwrap.dedent(CHECKS))
    return tmp_path


@pytest.mark.parametrize(("function", "weak"), [("loose", True), ("strict", False)])
def test_verify_records_when_it_passes_a_perturbed_reference_too(tmp_path: Path, function: str, weak: bool) -> None:
    workspace = _verify_workspace(tmp_path, _insensitive_logits())
    spec = step_spec(
        "verify/onnx@onnxruntime-cpu",
        recipe_dir=str(workspace),
        verify=CallableRef(entrypoint=f"checks.py:{function}"),
        options={"outputs_dir": "outputs", "gate": None},
    )
    ctx = StepContext(spec=spec, workspace=workspace)
    verdict = run_verify(ctx)["verify"]
    assert verdict["passed"] and verdict["perturbed_passed"] is weak and verdict["proves_little"] is weak
    assert ("verify proves little" in ctx.note) is weak
