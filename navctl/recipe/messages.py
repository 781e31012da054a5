"""Pydantic's validation errors as recipe problems: the position in the file, the dotted field, and a
message a user can act on ("unknown key 'batch_size'; did you mean 'batch_sizes'?")."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from navctl.errors import RecipeProblem, suggest
from navctl.recipe.models import Recipe
from navctl.recipe.yaml_loader import LoadedYaml


def yaml_kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_problems(exc: ValidationError, doc: LoadedYaml) -> list[RecipeProblem]:
    problems = []
    for err in _without_union_noise(exc.errors(include_url=False)):
        loc = _data_loc(err)
        path = _yaml_path(doc, tuple(str(p) if not isinstance(p, int) else p for p in loc))
        line, col = doc.position(path, key=err["type"] == "extra_forbidden")
        message = _message(err, loc)
        problems.append(RecipeProblem(message, line, col, dotted(path)))
    return problems


def invalid_locations(exc: ValidationError) -> list[tuple[Any, ...]]:
    """Where the data failed its own field's check, as `pydantic_problems` reports it (a missing field is
    not in the data). A dict key that failed is given as the key's own location."""
    locs = [_data_loc(err) for err in _without_union_noise(exc.errors(include_url=False)) if err["type"] != "missing"]
    return [loc[:-1] if loc and loc[-1] == "[key]" else loc for loc in locs]


def _data_loc(err: Any) -> tuple[Any, ...]:
    # Pydantic adds the union member or validator name to loc (e.g. 'literal['auto']'); drop those.
    return tuple(p for p in err["loc"] if isinstance(p, int) or not _is_internal_loc(p))


_MISMATCH = {"literal_error", "dict_type", "list_type", "model_type", "model_attributes_type", "string_type"}
_MEMBER = ("literal[", "list[", "dict[", "union[")


def _fits(member: str, value: Any) -> bool:
    if member.startswith("literal["):
        return isinstance(value, (str, int, float, bool))
    return isinstance(value, list) if member.startswith("list[") else isinstance(value, dict)


def _without_union_noise(errors: list[Any]) -> list[Any]:
    """A value that fails a union (`auto | [sizes]`) fails every member; keep what the member of the
    value's own kind says ('batch_sizes[1]: greater than 0', not also "'[1, 0]' is not one of auto")."""
    for level in range(3):  # unions nested in unions (a list of `name | {input: dims}`)
        groups: dict[tuple, list[tuple[Any, str, bool]]] = {}
        for err in errors:
            tags = [i for i, p in enumerate(err["loc"]) if isinstance(p, str) and p.startswith(_MEMBER)]
            if len(tags) > level:
                at = tags[level]
                direct = len(err["loc"]) == at + 1 and err["type"] in _MISMATCH
                groups.setdefault(tuple(err["loc"][:at]), []).append((err, err["loc"][at], direct))
        drop: list[Any] = []
        for members in groups.values():
            if len({tag for _, tag, _ in members}) < 2:
                continue
            direct = [(err, tag) for err, tag, is_direct in members if is_direct]
            if len(direct) < len(members):
                drop += [err for err, _ in direct]
            elif any(_fits(tag, err.get("input")) for err, tag in direct):
                drop += [err for err, tag in direct if not _fits(tag, err.get("input"))]
        errors = [err for err in errors if not any(err is d for d in drop)]
    return errors


def _yaml_path(doc: LoadedYaml, path: tuple[Any, ...]) -> tuple[Any, ...]:
    """`path` as the YAML positions know it: an int is a list index, or a mapping key (`axes: {1: ...}`),
    which they hold as a string."""
    out: tuple[Any, ...] = ()
    for part in path:
        known = out + (part,) in doc.value_pos or out + (part,) in doc.key_pos
        out += (part,) if known or not isinstance(part, int) else (str(part),)
    return out


def _is_internal_loc(part: str) -> bool:
    return part.startswith((*_MEMBER, "function-", "constrained-")) or part in {"str", "int", "float"}


def _message(err: dict[str, Any], loc: tuple[Any, ...]) -> str:
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        hint = suggest(key, allowed)
        return f"unknown key '{key}'{hint}" + ("" if hint else f"; allowed keys: {', '.join(allowed)}")
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        hint = suggest(str(value), options) if isinstance(value, str) else ""
        return f"'{value}' is not one of {', '.join(options)}{hint}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"must be a mapping, not a {yaml_kind(value)}"
    if kind == "list_type":
        return f"must be a list, not a {yaml_kind(value)}"
    return msg[0].lower() + msg[1:] if msg else kind


def dedupe(problems: list[RecipeProblem]) -> list[RecipeProblem]:
    seen: set[tuple[int, int, str]] = set()
    out = []
    for p in problems:
        key = (p.line, p.col, p.field)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the recipe model found at `loc` (walking nested models, lists and dicts)."""
    model: Any = Recipe
    for part in loc:
        if isinstance(part, int):
            continue
        inner = _model_in(model)
        if inner is None:
            return []
        field = inner.model_fields.get(str(part))
        if field is None:
            # a free-form mapping such as correctness.outputs: step into its value type
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = args[-1] if args else None
            continue
        model = field.annotation
    inner = _model_in(model)
    return list(inner.model_fields) if inner else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, dict, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None
