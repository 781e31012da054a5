"""The user files a run depends on (what the recipe names, the local modules those import, anywhere in the
file and transitively, and runtime_files), and which steps read which of them: pure, in milliseconds."""

from __future__ import annotations

import typing
from pathlib import Path

from pydantic import BaseModel

from navctl.engine.user_files import (
    CALIBRATION,
    DATALOADER,
    ENTRYPOINT_ROLES,
    MODEL,
    RUNTIME,
    VERIFY,
    step_roles,
    user_files,
)
from navctl.plan.expand import Machine, expand
from navctl.recipe import models as recipe_models
from navctl.recipe.fields import check_entrypoint
from navctl.recipe.files import ENTRYPOINT_FIELDS
from navctl.recipe.load import load_recipe
from tests.helpers import files_project


def test_the_set_holds_named_files_their_local_imports_and_runtime_files(tmp_path: Path) -> None:
    found = user_files(load_recipe(files_project(tmp_path)))
    roles = {f.path.relative_to(tmp_path).as_posix(): set(f.roles) for f in found.files}
    model_code = [
        "models/model.py",
        "models/layers.py",  # from layers import Block
        "models/common.py",  # imported by layers.py: followed transitively
        "models/fast_ops.py",  # in a try block
        "models/pkg/__init__.py",  # from pkg.sub import thing: each package runs its __init__
        "models/pkg/sub/__init__.py",
        "models/pkg/sub/thing.py",  # a submodule named by a from-import
        "models/pkg/sub/helpers.py",  # relative: from .helpers import h
        "models/pkg/shared.py",  # relative: from .. import shared
    ]
    assert roles == {
        **{name: {MODEL} for name in model_code},
        "data/loader.py": {DATALOADER},
        "data/tokenize_utils.py": {DATALOADER},  # imported inside the factory's body
        "data/calib.py": {CALIBRATION},
        "recipes/checks.py": {VERIFY},
        "weights/a.bin": {RUNTIME},
        "weights/b.bin": {RUNTIME},
    }
    # standard library (json, os), installed libraries (numpy, torch) and files nothing imports are left out
    records = {r["path"]: r["sha256"] for r in found.records()}
    assert records["checks.py"] == found.hashes({VERIFY})["checks.py"]  # inside the recipe's folder: relative
    assert str(tmp_path / "models" / "layers.py") in records  # outside it: absolute
    assert found.common_root() == tmp_path


def test_a_file_two_fields_reach_carries_both_roles_and_a_dotted_entrypoint_is_followed(tmp_path: Path) -> None:
    (tmp_path / "recipes" / "checking").mkdir(parents=True)
    (tmp_path / "recipes" / "checking" / "__init__.py").write_text("")
    (tmp_path / "recipes" / "checking" / "rules.py").write_text("def verify(outputs, reference):\n    return True\n")
    recipe = files_project(tmp_path, verify={"function": "checking.rules:verify"})
    (tmp_path / "data" / "calib.py").write_text("from loader import samples\n\ndef calibration_set():\n    return []\n")
    roles = {f.path.relative_to(tmp_path).as_posix(): set(f.roles) for f in user_files(load_recipe(recipe)).files}
    assert roles["data/loader.py"] == roles["data/tokenize_utils.py"] == {DATALOADER, CALIBRATION}
    assert roles["recipes/checking/__init__.py"] == roles["recipes/checking/rules.py"] == {VERIFY}
    assert "recipes/checks.py" not in roles


def test_each_step_reads_the_roles_of_the_code_it_runs(tmp_path: Path) -> None:
    recipe = load_recipe(files_project(tmp_path)).recipe
    machine = Machine(cuda=False, modules={"torch": True, "onnx": True, "onnxruntime": True})
    plan = expand(recipe, machine)
    source = {MODEL, RUNTIME}
    expected = {
        "samples": {MODEL, DATALOADER, RUNTIME},
        "export/torchscript-trace": source,
        "export/onnx": source,
        "convert/onnx-int8": {CALIBRATION, RUNTIME},
        "profile/source@torch-cpu": source,
        "verify/onnx@onnxruntime-cpu": {VERIFY, RUNTIME},
        "verify/onnx-int8@onnxruntime-cpu": {VERIFY, RUNTIME},
        "verify/torchscript-trace@torchscript-cpu": {VERIFY, RUNTIME},
    }
    roles = {s.id: set(step_roles(s, recipe)) for s in plan.steps if s.available}
    assert {k: v for k, v in roles.items() if v} == expected, roles
    # dynamic quantization reads no calibration samples, so no calibration factory either
    dynamic = recipe.model_copy(deep=True)
    dynamic.quantization.onnx.mode = "dynamic"
    assert step_roles(plan.step("convert/onnx-int8"), dynamic) == frozenset()


def _entrypoint_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every field of the recipe models typed Entrypoint (a 'file.py:callable'), found by walking them."""
    found = set()
    for name, field in model.model_fields.items():
        stack = [field.annotation, *field.metadata]
        while stack:
            item = stack.pop()
            validator = getattr(item, "func", None)
            if validator is check_entrypoint:
                found.add((*prefix, name))
            elif isinstance(item, type) and issubclass(item, BaseModel):
                found |= _entrypoint_fields(item, (*prefix, name))
            else:
                stack += list(typing.get_args(item)) + list(getattr(item, "__metadata__", ()))
    return found


def test_every_entrypoint_field_of_the_recipe_has_a_role() -> None:
    fields = _entrypoint_fields(recipe_models.Recipe)
    assert fields == set(ENTRYPOINT_FIELDS) == set(ENTRYPOINT_ROLES)
