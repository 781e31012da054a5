"""Plan expansion is pure: these tests inject what the machine has."""

from __future__ import annotations

from pathlib import Path

import pytest

from navctl.errors import EnvironmentProblem
from navctl.plan.expand import Machine, expand
from navctl.plan.render import plan_json, plan_mermaid
from navctl.recipe.load import load_recipe
from navctl.recipe.models import Recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _recipe(**fields) -> Recipe:
    data = {
        "name": "m",
        "framework": "torch",
        "model": {"entrypoint": "m.py:build"},
        "dataloader": {"factory": "m.py:samples"},
        "targets": ["torchscript", "onnx"],
    }
    data.update(fields)
    return Recipe.model_validate(data)


def _everything(cuda: bool) -> Machine:
    names = [
        "torch",
        "onnx",
        "onnxruntime",
        "tensorflow",
        "jax",
        "tensorrt",
        "polygraphy",
        "openvino",
        "tf2onnx",
        "jax2onnx",
        "torch_tensorrt",
        "nncf",
        "onnxconverter_common",
    ]
    return Machine(cuda=cuda, modules=dict.fromkeys(names, True), distributions={"onnxruntime-gpu": True})


def test_cpu_plan_has_steps_in_dependency_order() -> None:
    plan = expand(_recipe(device="cpu"), _everything(cuda=False))
    ids = [s.id for s in plan.steps]
    assert ids[0] == "samples" and ids[-1] == "select"
    assert plan.formats == ["torchscript-trace", "torchscript-script", "onnx"]
    seen: set[str] = set()
    for step in plan.steps:
        assert all(dep in seen for dep in step.deps), step.id
        seen.add(step.id)
    assert "correctness/onnx@onnxruntime-cpu" in ids
    assert plan.step("profile/onnx@onnxruntime-cpu").exclusive
    assert plan.step("profile/source@torch-cpu").deps == ["samples"]


def test_cuda_runners_unavailable_without_cuda() -> None:
    plan = expand(_recipe(device="auto"), _everything(cuda=False))
    assert plan.device == "cpu"
    step = plan.step("correctness/onnx@onnxruntime-cuda")
    assert not step.available and "no CUDA device is visible" in step.reason
    profile = plan.step("profile/onnx@onnxruntime-cuda")
    assert not profile.available
    assert plan.step("select").available


def test_auto_device_picks_cuda_with_fake_cuda() -> None:
    plan = expand(_recipe(device="auto"), _everything(cuda=True))
    assert plan.device == "cuda"
    assert plan.step("correctness/onnx@onnxruntime-cuda").available
    assert "the run's device is cuda" in plan.step("correctness/onnx@onnxruntime-cpu").reason


def test_device_cuda_without_cuda_is_an_environment_error() -> None:
    with pytest.raises(EnvironmentProblem) as info:
        expand(_recipe(device="cuda"), _everything(cuda=False))
    assert info.value.exit_code == 4


def test_missing_package_names_the_extra() -> None:
    machine = _everything(cuda=False)
    machine.modules["onnx"] = False
    plan = expand(_recipe(device="cpu"), machine)
    step = plan.step("export/onnx")
    assert not step.available and "pip install 'navctl[onnx]'" in step.reason
    assert not plan.step("correctness/onnx@onnxruntime-cpu").available
    assert plan.step("export/torchscript-trace").available


def test_tensorrt_group_follows_precisions_and_pulls_in_onnx() -> None:
    plan = expand(_recipe(targets=["tensorrt"], tensorrt={"precisions": ["fp16", "int8"]}), _everything(cuda=True))
    assert plan.formats == ["onnx", "trt-fp16", "trt-int8"]
    assert plan.step("convert/trt-fp16").deps == ["export/onnx", "samples"]


def test_int8_group_keeps_what_this_machine_can_make() -> None:
    cpu = _everything(cuda=False)
    plan = expand(_recipe(targets=["int8"], device="cpu"), cpu)
    assert plan.formats == ["onnx", "onnx-int8", "openvino", "openvino-int8"]  # trt-int8 needs CUDA: left out
    assert plan.step("convert/onnx-int8").deps == ["export/onnx", "samples"]
    cpu.modules["nncf"] = False
    assert expand(_recipe(targets=["int8"], device="cpu"), cpu).formats == ["onnx", "onnx-int8"]
    # named on its own, a member the machine cannot make is shown with what it needs
    named = expand(_recipe(targets=["int8", "openvino-int8"], device="cpu"), cpu)
    assert "pip install 'navctl[openvino]'" in named.step("convert/openvino-int8").reason
    # nothing of the group can be made: every member is shown, unavailable, rather than an empty plan
    bare = Machine(
        cuda=False, modules={"torch": True, **dict.fromkeys(["onnx", "onnxruntime", "openvino", "nncf"], False)}
    )
    plan = expand(_recipe(targets=["int8"], device="cpu"), bare)
    assert {"onnx-int8", "openvino-int8", "trt-int8"} <= set(plan.formats)
    assert not plan.step("convert/trt-int8").available


def test_unimplemented_formats_say_so() -> None:
    plan = expand(_recipe(targets=["torch-tensorrt"]), _everything(cuda=True))
    assert "not implemented" in plan.step("convert/torch-tensorrt").reason


def test_verify_steps_only_with_a_verify_function() -> None:
    without = expand(_recipe(device="cpu"), _everything(cuda=False))
    assert not [s for s in without.steps if s.kind == "verify"]
    with_verify = expand(_recipe(device="cpu", verify={"function": "m.py:verify"}), _everything(cuda=False))
    assert with_verify.step("verify/onnx@onnxruntime-cpu").deps == ["correctness/onnx@onnxruntime-cpu", "samples"]


@pytest.mark.parametrize("recipe", sorted(p.name for p in RECIPES.glob("*.yaml")))
def test_every_example_recipe_plans(recipe: str) -> None:
    if recipe == "onnx_file.yaml" and not (RECIPES / "models" / "linear.onnx").exists():
        from recipes.models.make_onnx_model import main as make

        make()
    loaded = load_recipe(RECIPES / recipe)
    plan = expand(loaded.recipe, _everything(cuda=False))
    assert plan.steps[0].id == "samples"
    assert '"steps"' in plan_json(plan)
    assert plan_mermaid(plan).startswith("flowchart LR")
