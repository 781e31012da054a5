"""Entrypoints of the user's code are checked statically (read with `ast`, nothing imported), whether
written as 'file.py:callable' or as 'package.module:callable' found beside the recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from navctl.cli.main import main

RECIPE = """\
name: ep
framework: torch
model:
  entrypoint: {model}
dataloader:
  factory: {factory}
targets: [onnx]
"""
TINY = "import torch\n\n\ndef build():\n    pass\n\n\ndef samples():\n    return []\n"


def _project(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "models" / "tiny.py").write_text(TINY)
    (tmp_path / "helpers.py").write_text(TINY)
    (tmp_path / "spaced").mkdir(exist_ok=True)  # a namespace package: a folder without __init__.py
    (tmp_path / "spaced" / "mod.py").write_text(TINY)


def _validate(tmp_path: Path, capsys, model: str, factory: str = "helpers:samples") -> tuple[int, list[str]]:
    _project(tmp_path)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(model=model, factory=factory))
    code = main(["validate", str(recipe)])
    prefix = f"{recipe}:"
    return code, [line.removeprefix(prefix) for line in capsys.readouterr().err.splitlines()]


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("models:build", "4:15: model.entrypoint: models/__init__.py defines no 'build'"),
        ("models.tiny:buidl", "4:15: model.entrypoint: models/tiny.py defines no 'buidl'; did you mean 'build'?"),
        ("helpers:biuld", "4:15: model.entrypoint: helpers.py defines no 'biuld'; did you mean 'build'?"),
        ("spaced.mod:bulid", "4:15: model.entrypoint: spaced/mod.py defines no 'bulid'; did you mean 'build'?"),
        (
            "models.huge:build",
            "4:15: model.entrypoint: module 'models.huge' cannot be found: no models/huge.py or models/huge/ "
            "beside the recipe",
        ),
        (
            "helpers.sub:build",
            "4:15: model.entrypoint: module 'helpers.sub' cannot be found: helpers.py beside the recipe is a "
            "module, not a package",
        ),
    ],
)
def test_a_module_beside_the_recipe_must_define_the_callable(tmp_path: Path, capsys, model: str, message) -> None:
    code, err = _validate(tmp_path, capsys, model)
    assert code == 2, err
    assert err[0] == message and err[1].endswith("1 problem; nothing was run"), err


def test_the_dataloader_factory_is_checked_the_same_way(tmp_path: Path, capsys) -> None:
    code, err = _validate(tmp_path, capsys, "models.tiny:build", factory="models:samples")
    assert code == 2, err
    assert err[0] == "6:12: dataloader.factory: models/__init__.py defines no 'samples'"


def test_a_syntax_error_in_a_package_init_names_the_file(tmp_path: Path, capsys) -> None:
    _project(tmp_path)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.format(model="models:build", factory="helpers:samples"))
    (tmp_path / "models" / "__init__.py").write_text("def build(:\n")
    code = main(["validate", str(recipe)])
    err = [line.removeprefix(f"{recipe}:") for line in capsys.readouterr().err.splitlines()]
    assert code == 2, err
    assert err[0].startswith("4:15: model.entrypoint: models/__init__.py:1:11: syntax error: "), err


@pytest.mark.parametrize(
    "model",
    [
        "models.tiny:build",
        "helpers:build",
        "spaced.mod:build",
        "spaced:build",  # a namespace package holds no source to read: left to the import
        "spaced.elsewhere:build",  # another folder on sys.path may hold more of a namespace package
        "json:no_such_function",  # installed, not beside the recipe: only found, never read
    ],
)
def test_entrypoints_that_may_import_validate(tmp_path: Path, capsys, model: str) -> None:
    code, err = _validate(tmp_path, capsys, model)
    assert code == 0, err


LIB = """\
import torch
import numpy as np
from os.path import join
from helpers import build as make

SIZE = 4
width: int = 8
first, (second, third) = 1, (2, 3)


def samples():
    local_variable = 1
    return [local_variable]


class Net:
    inner = 2


try:
    import onnx
except ImportError:
    onnx = None
if SIZE:
    def fallback():
        pass
print(walrus := 4)


def register():
    global late
    late = 1
"""


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "lib.py:missing",
            "lib.py defines no 'missing'; it defines: Net, SIZE, fallback, first, late, register, samples, second, "
            "third, walrus, width",
        ),
        ("lib.py:mkae", "lib.py defines no 'mkae'; did you mean 'make'?"),  # an imported callable is offered
        ("lib.py:sampels", "lib.py defines no 'sampels'; did you mean 'samples'?"),
    ],
)
def test_the_names_offered_are_what_the_file_defines_not_its_modules(
    tmp_path: Path, capsys, model: str, message: str
) -> None:
    (tmp_path / "lib.py").write_text(LIB)
    code, err = _validate(tmp_path, capsys, model)
    assert code == 2, err
    assert err[0] == f"4:15: model.entrypoint: {message}"


@pytest.mark.parametrize("name", ["make", "join", "np", "fallback", "width", "third", "walrus", "late"])
def test_imported_and_nested_names_stay_acceptable(tmp_path: Path, capsys, name: str) -> None:
    (tmp_path / "lib.py").write_text(LIB)
    code, err = _validate(tmp_path, capsys, f"lib.py:{name}")
    assert code == 0, err


def test_a_dotted_callable_needs_only_its_first_name_defined(tmp_path: Path, capsys) -> None:
    (tmp_path / "lib.py").write_text(LIB)
    code, err = _validate(tmp_path, capsys, "lib.py:Net.inner")
    assert code == 0, err
    code, err = _validate(tmp_path, capsys, "models.tiny:Nte.build")
    assert code == 2
    assert err[0] == "4:15: model.entrypoint: models/tiny.py defines no 'Nte'; it defines: build, samples"
