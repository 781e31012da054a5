"""`navctl validate`: check recipes without running anything."""

from __future__ import annotations

from pathlib import Path

import typer

from navctl.cli.output import report_error, stdout


def validate(recipes: list[Path] = typer.Argument(..., help="Recipe files to check.", metavar="RECIPE...")) -> None:
    """Check recipes without running anything; every problem is listed with its file:line:col."""
    from navctl.errors import RecipeError
    from navctl.recipe.load import load_recipe

    errors: list[RecipeError] = []
    for recipe in recipes:
        try:
            load_recipe(recipe)
            stdout.line(f"{recipe}: ok")
        except RecipeError as exc:
            errors.append(exc)
    for error in errors[:-1]:
        report_error(error)
    if errors:
        raise errors[-1]
