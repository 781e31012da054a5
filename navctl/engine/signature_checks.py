"""The recipe's claims about the model's signature, checked once the samples step has recorded it: the
tensor names it gives, the samples quantization needs, the shape ranges it declares."""

from __future__ import annotations

from pathlib import Path

from navctl.contract.step import MODEL_IO_FILE
from navctl.errors import RecipeProblem
from navctl.plan.models import Plan
from navctl.recipe.axes import signature_problems
from navctl.recipe.load import LoadedRecipe, too_few_to_calibrate, unknown_tensor_names
from navctl.status import Status


def _sample_count(workspace: Path) -> int:
    from navctl.contract.tensors import ModelIO

    try:
        return ModelIO.read(workspace / MODEL_IO_FILE).samples
    except (OSError, ValueError):
        return 0


def recipe_problems(loaded: LoadedRecipe, status: Status, plan: Plan, workspace: Path) -> list[RecipeProblem]:
    """What the recipe says that the recorded signature contradicts (the run stops on any)."""
    problems = unknown_tensor_names(loaded, [t.name for t in status.inputs], [t.name for t in status.outputs])
    problems += too_few_to_calibrate(loaded, _sample_count(workspace), plan.formats)
    return problems + signature_problems(loaded.path, loaded.recipe, status.inputs)
