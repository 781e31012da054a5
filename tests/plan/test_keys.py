"""navctl.plan.keys: the one reader of runner names, format@runner keys and step ids; bad ones are refused
with a message naming the expected shape."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from navctl.errors import EXIT_USAGE
from navctl.plan import keys, registry
from navctl.recipe.models import Selection


def test_runner_names_split_at_the_last_dash_whatever_the_runtime() -> None:
    for runtime in registry.RUNTIMES.values():
        for device in runtime.devices:
            name = keys.runner_name(runtime.name, device)
            assert keys.split_runner(name) == (runtime.name, device)
            assert keys.runtime_of(name) == runtime.name and keys.device_of(name) == device
    assert keys.split_runner("onnxruntime-tensorrt-cuda") == ("onnxruntime-tensorrt", "cuda")
    assert registry.runtime_def("onnxruntime-tensorrt-cuda").accelerator == "TensorrtExecutionProvider"
    assert registry.runtime_def("onnxruntime-cuda").accelerator is None


@pytest.mark.parametrize("bad", ["onnxruntime", "onnxruntime-gpu", "-cpu", "", "onnxruntime-CPU"])
def test_a_runner_without_a_known_device_is_refused(bad: str) -> None:
    with pytest.raises(keys.BadName) as caught:
        keys.split_runner(bad)
    assert str(caught.value) == f"'{bad}' is not a runner: expected RUNTIME-DEVICE with a device of cpu, cuda"
    assert caught.value.exit_code == EXIT_USAGE


def test_keys_join_and_split_and_name_their_device() -> None:
    key = keys.result_key("trt-fp16", "tensorrt-cuda")
    assert key == "trt-fp16@tensorrt-cuda"
    assert keys.split_key(key) == ("trt-fp16", "tensorrt-cuda")
    assert keys.format_of(key) == "trt-fp16" and keys.runner_of(key) == "tensorrt-cuda"
    assert keys.device_of(key) == "cuda" and keys.device_of("source@torch-cpu") == "cpu"


@pytest.mark.parametrize("bad", ["onnx", "onnx@", "@onnxruntime-cpu", "onnx@onnxruntime-cpu@x", ""])
def test_a_key_that_is_not_format_at_runner_is_refused(bad: str) -> None:
    with pytest.raises(keys.BadName, match="^'.*' is not 'format@runner'$") as caught:
        keys.split_key(bad)
    assert str(caught.value) == f"'{bad}' is not 'format@runner'"
    # a ValueError too, so a recipe field validator reports it as the field's problem
    with pytest.raises(ValidationError, match=f"'{bad}' is not 'format@runner'"):
        Selection(pin=bad)


def test_step_ids_name_their_subject_and_format() -> None:
    assert keys.step_id("export", "onnx") == "export/onnx" and keys.step_id("samples") == "samples"
    assert keys.step_subject("correctness/onnx@onnxruntime-cpu") == "onnx@onnxruntime-cpu"
    assert keys.step_format("correctness/onnx@onnxruntime-cpu") == "onnx"
    assert keys.step_format("convert/trt-int8") == "trt-int8"
    assert keys.step_format("samples") is None and keys.step_subject("select") == ""


def test_tensorrt_formats_carry_their_precision() -> None:
    for precision in registry.TRT_PRECISIONS:
        fmt = keys.trt_format(precision)
        assert fmt in registry.FORMATS and registry.FORMATS[fmt].precision == precision
        assert keys.trt_precision(fmt) == precision
        assert registry.covers("tensorrt", fmt) and not registry.covers("onnx", fmt)
    assert keys.trt_precision("onnx-int8") is None and keys.trt_precision("tf-trt") is None
    assert registry.covers("int8", "onnx-int8") and registry.covers("onnx", "onnx")


def test_framework_facts_give_the_recipe_rules() -> None:
    assert registry.path_frameworks() == ["onnx", "tensorflow"]
    no_code = [f.name for f in registry.FRAMEWORK_DEFS.values() if not f.entrypoint]
    assert no_code == ["onnx"] and all(registry.FRAMEWORK_DEFS[f].model_file for f in no_code)
    assert [f.name for f in registry.FRAMEWORK_DEFS.values() if not f.needs_dataloader] == ["onnx"]
    assert registry.SOURCE_RUNTIMES["torch"] == ("torch", "torch-compile")
    assert tuple(registry.FRAMEWORK_DEFS) == registry.FRAMEWORKS
