"""Recipes: the YAML file a user writes, validated into a typed `Recipe`.

The package imports nothing at first: step processes use `navctl.recipe.units` alone and must not
pay for the recipe models (0.3 s of Pydantic and YAML) on the way to the framework.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Recipe", "load_recipe", "parse_duration"]


def __getattr__(name: str) -> Any:
    if name in ("load_recipe", "parse_duration"):
        from navctl.recipe import load

        return getattr(load, name)
    if name == "Recipe":
        from navctl.recipe.models import Recipe

        return Recipe
    raise AttributeError(f"module 'navctl.recipe' has no attribute {name!r}")
