"""Recipes: the YAML file a user writes, validated into a typed `Recipe`."""

from navctl.recipe.load import load_recipe, parse_duration
from navctl.recipe.models import Recipe

__all__ = ["Recipe", "load_recipe", "parse_duration"]
