"""The libraries a recipe's files import, read with `ast`, which the worker's annex imports for every step."""

from __future__ import annotations

from pathlib import Path

from navctl.engine.library_imports import library_imports

MODEL = """
from __future__ import annotations

import json
import os.path
from typing import TYPE_CHECKING

import numpy as np
import torch
from transformers import BertConfig, BertModel
from transformers.models import gpt2
from . import sibling_relative
import helpers
from mypkg.layers import Block
import started_here

try:
    import timm
except ImportError:
    timm = None

if TYPE_CHECKING:
    from pandas import DataFrame
else:
    import einops


def build():
    import tensorflow  # inside a function: run by the step only when called
    return BertModel(BertConfig())


class Net:
    import scipy
"""


def test_top_level_library_imports_are_found_and_the_users_own_modules_left_out(tmp_path: Path, monkeypatch) -> None:
    recipe_dir = tmp_path / "project"
    models = recipe_dir / "models"
    models.mkdir(parents=True)
    (models / "model.py").write_text(MODEL)
    (models / "helpers.py").write_text("")  # beside the model file: the user's
    (recipe_dir / "mypkg").mkdir()  # beside the recipe: the user's
    (tmp_path / "started_here.py").write_text("")  # where navctl (and so its worker) starts: the user's
    monkeypatch.chdir(tmp_path)
    found = library_imports([models / "model.py"], recipe_dir, skip={"torch"})
    assert found == [
        "numpy",
        "transformers:BertConfig,BertModel",
        "transformers.models:gpt2",
        "timm",
        "einops",
    ]


def test_files_that_cannot_be_read_give_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("import transformers\ndef (:\n")
    data = tmp_path / "model.onnx"
    data.write_bytes(b"\0\1")
    assert library_imports([broken, data, tmp_path / "missing.py"], tmp_path) == []
