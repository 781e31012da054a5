"""The committed JSON Schemas match the models, and what navctl writes validates against them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navctl.schemas import recipe_schema, render, status_schema

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "make"), [("recipe.schema.json", recipe_schema), ("status.schema.json", status_schema)]
)
def test_committed_schema_is_current(name, make) -> None:
    committed = (REPO / "schemas" / name).read_text()
    assert committed == render(make()), f"schemas/{name} is stale: run `navctl schema --out schemas`"


def test_example_recipes_name_the_schema_and_validate() -> None:
    import jsonschema
    import yaml

    schema = json.loads((REPO / "schemas" / "recipe.schema.json").read_text())
    for recipe in sorted((REPO / "recipes").glob("*.yaml")):
        first = recipe.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/recipe.schema.json", recipe
        jsonschema.validate(yaml.safe_load(recipe.read_text()), schema)
