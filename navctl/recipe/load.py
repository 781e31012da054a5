"""Read a recipe file into a `Recipe`, reporting every problem with its file position.

Pydantic's errors become messages in navctl.recipe.messages, the checks across fields in
navctl.recipe.cross_checks, the checks of the user's code in navctl.recipe.entrypoints.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from navctl.errors import RecipeError, RecipeProblem
from navctl.plan import registry
from navctl.recipe.cross_checks import cross_problems
from navctl.recipe.entrypoints import against_recipe, resolve_entrypoint_file
from navctl.recipe.messages import dedupe, invalid_locations, pydantic_problems, suggest, yaml_kind
from navctl.recipe.models import Recipe
from navctl.recipe.units import parse_duration
from navctl.recipe.yaml_loader import MAX_FILE_BYTES, YamlProblems, load_yaml

__all__ = [
    "LoadedRecipe",
    "against_recipe",
    "load_recipe",
    "parse_duration",
    "resolve_entrypoint_file",
    "too_few_to_calibrate",
    "unknown_tensor_names",
]


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe and where it came from."""

    recipe: Recipe
    path: Path  # absolute
    sha256: str

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, path: str | Path) -> Path:
        """A path written in the recipe: absolute as given, else relative to the recipe's folder."""
        return against_recipe(self.base_dir, path).resolve()


def load_recipe(path: str | Path, overrides: dict[str, Any] | None = None) -> LoadedRecipe:
    """Load and validate a recipe. Raises RecipeError (exit 2) listing every problem found."""
    shown = str(path)
    file = Path(path)
    raw = _read_bytes(file, shown)
    if b"\x00" in raw:
        raise RecipeError(shown, [RecipeProblem("is a binary file, not a YAML recipe")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecipeError(shown, [RecipeProblem(f"is not UTF-8 text (byte {exc.start})")]) from None
    try:
        doc = load_yaml(text)
    except YamlProblems as exc:
        raise RecipeError(shown, exc.problems) from None
    if doc.data is None:
        raise RecipeError(
            shown, [RecipeProblem("is empty; a recipe needs at least name, framework, model and targets", 1, 1)]
        )
    if not isinstance(doc.data, dict):
        line, col = doc.position(())
        raise RecipeError(
            shown,
            [
                RecipeProblem(
                    f"the top level must be a mapping of recipe fields, not a {yaml_kind(doc.data)}", line, col
                )
            ],
        )
    data = dict(doc.data)
    if overrides:
        data.update({k: v for k, v in overrides.items() if v is not None})
    problems: list[RecipeProblem] = []
    invalid: list[tuple[Any, ...]] = []
    recipe = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        problems += pydantic_problems(exc, doc)
        invalid = invalid_locations(exc)
    # Cross-field checks read the raw data, so they report alongside type errors, not after a fix; the
    # values already reported are hidden from them, so no check compares with a value known to be wrong.
    problems += cross_problems(data, file.resolve().parent, doc, invalid)
    if problems or recipe is None:
        problems = sorted(dedupe(problems), key=lambda p: (p.line, p.col))
        raise RecipeError(shown, problems)
    return LoadedRecipe(recipe=recipe, path=file.resolve(), sha256=hashlib.sha256(raw).hexdigest())


def unknown_tensor_names(loaded: LoadedRecipe, input_names: list[str], output_names: list[str]) -> list[RecipeProblem]:
    """Recipe entries that name inputs or outputs the model does not have (known once samples ran).

    A per-output tolerance for a misspelt output would otherwise be ignored in silence.
    """
    recipe = loaded.recipe
    named = (
        [(("correctness", "outputs", name), name, output_names, "output") for name in recipe.correctness.outputs]
        + [
            (("correctness", "formats", fmt, "outputs", name), name, output_names, "output")
            for fmt, gate in recipe.correctness.formats.items()
            for name in gate.outputs
        ]
        + [
            (("tensorrt", "shape_profiles", name), name, input_names, "input")
            for name in (recipe.tensorrt.shape_profiles or {})
        ]
    )
    bad = [(path, name, real, kind) for path, name, real, kind in named if name not in real]
    if not bad:
        return []
    try:
        doc = load_yaml(loaded.path.read_text(encoding="utf-8"))
    except (OSError, YamlProblems):
        doc = None
    problems = []
    for path, name, real, kind in bad:
        line, col = doc.position(path, key=True) if doc else (0, 0)
        hint = suggest(name, real)
        problems.append(
            RecipeProblem(
                f"the model has no {kind} named '{name}'; its {kind}s: {', '.join(real) or 'none'}{hint}",
                line,
                col,
                ".".join(path),
            )
        )
    return problems


def too_few_to_calibrate(loaded: LoadedRecipe, samples: int, formats: list[str]) -> list[RecipeProblem]:
    """Formats that calibrate on half the dataloader's samples cannot when there is only one (known once
    the samples step ran): calibration and checking must not share samples."""
    recipe = loaded.recipe
    if recipe.quantization.calibration is not None or samples >= 2:
        return []
    calibrating = [
        f
        for f in formats
        if f in registry.FORMATS and registry.FORMATS[f].calibrated and not recipe.quantization.skips_calibration(f)
    ]
    if not calibrating:
        return []
    try:
        line, col = load_yaml(loaded.path.read_text(encoding="utf-8")).position(("targets",), key=True)
    except (OSError, YamlProblems):
        line, col = 0, 0
    return [
        RecipeProblem(
            f"{', '.join(calibrating)} calibrate on samples their check never sees, but the dataloader gave "
            f"{samples} sample, which cannot be split; give at least 2 samples, or a quantization.calibration "
            "factory",
            line,
            col,
            "targets",
        )
    ]


def _read_bytes(file: Path, shown: str) -> bytes:
    if not file.exists():
        raise RecipeError(shown, [RecipeProblem("no such file")])
    if file.is_dir():
        raise RecipeError(shown, [RecipeProblem("is a directory; give the recipe's .yaml file")])
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RecipeError(shown, [RecipeProblem(f"is {size} bytes; recipes are limited to {MAX_FILE_BYTES}")])
        return file.read_bytes()
    except OSError as exc:
        raise RecipeError(shown, [RecipeProblem(f"cannot be read: {exc.strerror}")]) from None
