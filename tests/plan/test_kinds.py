"""The step-kind table: every kind has one entry, plans hold only known kinds, and a spec's options must
be its own kind's wherever the parent builds or reads one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from navctl.contract.kind_options import CorrectnessOptions, ProfileOptions, SamplesOptions, StepKind
from navctl.contract.step import StepResult, StepSpec
from navctl.engine.cache import read_result
from navctl.engine.specs import build_spec
from navctl.plan.expand import Machine, expand
from navctl.plan.kinds import KINDS, kind
from navctl.plan.models import PlannedStep
from navctl.recipe.load import load_recipe
from navctl.recipe.models import Profiling
from tests.helpers import step_spec, write_project

MACHINE = {"torch": True, "onnx": True, "onnxruntime": True}


@pytest.fixture
def planned(tmp_path: Path):
    loaded = load_recipe(write_project(tmp_path, targets=["onnx"], profiling={"batch_sizes": [1, 2], "patience": 3}))
    return loaded, expand(loaded.recipe, Machine(cuda=False, modules=dict(MACHINE)))


def test_the_table_holds_every_kind_and_plans_take_their_facts_from_it(planned) -> None:
    assert set(KINDS) == set(get_args(StepKind))
    _, plan = planned
    for step in plan.steps:
        entry = KINDS[step.kind]
        assert step.exclusive == entry.exclusive and step.inline == entry.inline
        if not entry.makes:
            assert step.function == entry.function, step.id
    assert plan.step("profile/onnx@onnxruntime-cpu").function == "navctl.steps.profile:measure"


def test_each_kinds_models_are_the_ones_its_specs_and_results_validate_as(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, targets=["onnx", "onnx-fp16"], verify={"function": "model.py:samples"})
    loaded = load_recipe(recipe)
    plan = expand(loaded.recipe, Machine(cuda=False, modules=dict(MACHINE)))
    built = {step.kind for step in plan.steps if not step.inline}
    # a decoder's generation steps join the plan while it runs (engine/plan_growth; tests/generation)
    assert built == {name for name, entry in KINDS.items() if entry.options is not None} - {"generation"}
    for step in plan.steps:
        if step.inline:
            continue
        spec = build_spec(step, loaded, 1, ["output_0"])
        assert type(StepSpec.model_validate_json(spec.model_dump_json()).options) is KINDS[step.kind].options
    for name, entry in KINDS.items():
        if entry.metrics is not None:
            result = StepResult(kind=name, state="ok", metrics=entry.metrics())
            assert type(StepResult.model_validate_json(result.model_dump_json()).metrics) is entry.metrics


def test_an_unknown_kind_cannot_be_planned_nor_looked_up() -> None:
    with pytest.raises(ValidationError, match="kind"):
        PlannedStep(id="train/onnx", kind="train")
    with pytest.raises(KeyError, match="unknown step kind 'train'"):
        kind("train")


def test_a_built_spec_carries_its_kinds_options_and_the_profiling_defaults_live_in_the_recipe(planned) -> None:
    loaded, plan = planned
    spec = build_spec(plan.step("profile/onnx@onnxruntime-cpu"), loaded, 1, ["output_0"])
    assert isinstance(spec.options, ProfileOptions)
    assert spec.options.patience == 3 and spec.options.batch_sizes == [1, 2]
    assert ProfileOptions().throughput_gain_pct == Profiling().throughput_gain_pct
    written = json.loads(spec.model_dump_json())["options"]
    assert "kind" not in written and "enabled" not in written  # spec.json keeps the keys it always had
    assert StepSpec.model_validate(json.loads(spec.model_dump_json())) == spec
    check = build_spec(plan.step("correctness/onnx@onnxruntime-cpu"), loaded, 1, ["output_0"])
    assert isinstance(check.options, CorrectnessOptions) and check.options.tolerances["output_0"] == [1e-4, 1e-3]


def test_a_spec_whose_options_are_another_kinds_is_refused_when_built() -> None:
    with pytest.raises(ValidationError, match="options of kind 'samples'"):
        step_spec("profile/onnx@onnxruntime-cpu", options=SamplesOptions())
    with pytest.raises(ValidationError, match="batch_sizes"):  # a profile option in a correctness spec
        step_spec("correctness/onnx@onnxruntime-cpu", options={"batch_sizes": [1]})
    with pytest.raises(ValidationError, match="options of kind 'verify'"):
        step_spec("correctness/onnx@onnxruntime-cpu", options={"kind": "verify", "outputs_dir": "x"})


def test_a_result_is_read_only_as_its_steps_kind(tmp_path: Path) -> None:
    result = StepResult(kind="correctness", state="ok", metrics={"correctness": {"passed": True}})
    (tmp_path / "result.json").write_text(result.model_dump_json())
    assert read_result(tmp_path, "correctness").metrics.correctness.passed is True
    assert read_result(tmp_path, "profile") is None  # another step's result: not this one's answer
    bad = json.loads(result.model_dump_json()) | {"metrics": {"profile": [], "correctness": {"passed": True}}}
    (tmp_path / "result.json").write_text(json.dumps(bad))
    assert read_result(tmp_path, "correctness") is None
    with pytest.raises(ValidationError, match="profile"):
        StepResult(kind="correctness", state="ok", metrics={"profile": []})
    # a result written before results named their kind is read as its step's (the cache stays valid)
    (tmp_path / "result.json").write_text(json.dumps({"state": "ok", "metrics": {"correctness": {"passed": False}}}))
    assert read_result(tmp_path, "correctness").metrics.correctness.passed is False
