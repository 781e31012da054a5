"""JSON Schemas generated from the Pydantic models (committed under schemas/; a test checks freshness)."""

from __future__ import annotations

import json
from pathlib import Path

from navctl.recipe.models import Recipe
from navctl.status import Status


def recipe_schema() -> dict:
    schema = Recipe.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "navctl recipe"
    return schema


def status_schema() -> dict:
    schema = Status.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "navctl status.yaml"
    return schema


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in (("recipe.schema.json", recipe_schema()), ("status.schema.json", status_schema())):
        path = out / name
        path.write_text(render(schema))
        written.append(path)
    return written
