"""The registry is the one place that knows formats and runtimes: every name in it points at something."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
import tomllib

from navctl.plan import registry
from navctl.plan.environment import module_available
from navctl.recipe.models import Recipe
from navctl.triton.repository import KNOWN_BACKENDS
from tests.helpers import REPO

EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _callables() -> list[tuple[str, tuple[str, ...]]]:
    found = [(r.runner, r.packages) for r in registry.RUNTIMES.values() if r.implemented]
    for fmt in registry.FORMATS.values():
        found += [(m.function, m.packages) for m in fmt.makers.values() if m.implemented]
    return sorted(set(found))


@pytest.mark.slow  # imports every framework
@pytest.mark.parametrize(("target", "packages"), _callables())
def test_every_module_attribute_in_the_registry_exists(target: str, packages: tuple[str, ...]) -> None:
    missing = [p for p in packages if not module_available(p)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    module_name, _, attribute = target.partition(":")
    assert callable(getattr(importlib.import_module(module_name), attribute)), target


def test_formats_name_known_triton_backends_and_recipe_sections() -> None:
    for fmt in registry.FORMATS.values():
        assert fmt.triton is None or fmt.triton in KNOWN_BACKENDS, fmt.name
        assert fmt.options is None or fmt.options in Recipe.model_fields, fmt.name
        assert fmt.artifact.split("/")[0] == fmt.name, "a format's files live in a folder of its name"
        for runtime in fmt.runtimes:
            assert runtime in registry.RUNTIMES, (fmt.name, runtime)
        for maker in fmt.makers.values():
            assert maker.parent == registry.SOURCE or maker.parent in registry.FORMATS, fmt.name


def test_runtimes_name_existing_extras_and_recipe_sections() -> None:
    for runtime in registry.RUNTIMES.values():
        assert runtime.extra in EXTRAS, (runtime.name, runtime.extra)
        assert runtime.options is None or runtime.options in Recipe.model_fields, runtime.name
    for package, extra in registry.PACKAGE_EXTRAS.items():
        assert extra in EXTRAS, (package, extra)


def test_install_hint_names_the_extras() -> None:
    assert registry.install_hint(["onnxruntime", "openvino"]) == (
        "needs onnxruntime, openvino (pip install 'navctl[onnx,openvino]')"
    )


def test_runner_precision_options_exist_and_lower_the_candidate_precision() -> None:
    for runtime in registry.RUNTIMES.values():
        if runtime.precision_option:
            section = Recipe.model_fields[runtime.options].annotation
            assert runtime.precision_option in section.model_fields, runtime.name
    for group in registry.RUNNABLE_ONLY_GROUPS:
        assert all(member in registry.FORMATS for member in registry.GROUPS[group])
    sections = {"openvino": {"precision": "bf16"}, "torch": {"autocast": "none"}}
    assert registry.candidate_precision("openvino", "openvino-cpu", sections) == "bf16"
    assert registry.candidate_precision("onnx-int8", "onnxruntime-cpu", sections) == "int8"
    assert registry.candidate_precision("torchscript-trace", "torchscript-cpu", sections) == "fp32"
    sections["torch"]["autocast"] = "fp16"
    assert registry.candidate_precision("torchscript-trace", "torchscript-cpu", sections) == "fp16"
    assert not registry.is_reduced("tf32") and registry.is_reduced("bf16")


@pytest.mark.slow  # finding a submodule imports its package (torch)
def test_preloaded_modules_exist_where_their_runtime_is_installed() -> None:
    # the warm worker ignores a module it cannot import: a misspelt name would only cost time, silently
    checked = 0
    for runtime in registry.RUNTIMES.values():
        if not all(module_available(p) for p in runtime.packages):
            continue
        for module in runtime.preload + runtime.preload_later:
            assert importlib.util.find_spec(module) is not None, (runtime.name, module)
            checked += 1
    assert checked
