"""The value types recipe models share: entrypoints, durations, sizes, and models that refuse unknown keys."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from navctl.recipe.units import parse_duration, parse_size

_ENTRYPOINT_RE = re.compile(r"^(?P<module>[^:]+):(?P<attr>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def sorted_unique(value: Any, empty: str) -> Any:
    """A list of sizes sorted with repeats dropped (an empty one refused with `empty`); anything else as given,
    for the field's own type to judge."""
    if isinstance(value, list):
        if not value:
            raise ValueError(empty)
        return sorted(set(value))
    return value


def check_entrypoint(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    match = _ENTRYPOINT_RE.match(value.strip())
    if not match:
        raise ValueError(
            f"'{value}' is not an entrypoint; write 'path/to/file.py:callable' or 'package.module:callable'"
        )
    module = match.group("module")
    if not module.endswith(".py") and not _MODULE_RE.match(module):
        raise ValueError(f"'{module}' is neither a .py file path nor a dotted module name")
    return value.strip()


Entrypoint = Annotated[
    str,
    BeforeValidator(check_entrypoint),
    Field(description="'path/to/file.py:callable' (relative to the recipe) or 'package.module:callable'"),
]
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h)?)+\s*$"},
            ]
        }
    ),
    Field(description="seconds, or a duration such as '90s', '30m', '1h30m'"),
]

MemorySize = Annotated[
    int,
    BeforeValidator(parse_size),
    WithJsonSchema({"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "string"}]}),
    Field(description="bytes, or a size such as '4GiB' or '512MiB'"),
]


class StrictModel(BaseModel):
    """Unknown keys are errors: a misspelt option must never be silently ignored."""

    model_config = ConfigDict(extra="forbid")
