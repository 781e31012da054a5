"""Recipe checks of the shape ranges: `inputs[].axes`, `profiling.shapes` and `selection.shape`.

Those that need only the recipe run with every other check (`static_problems`); those that need the
model's signature and the samples' sizes run once the samples step has recorded them
(`signature_problems`), reported at the recipe's line like every recipe error.
"""

from __future__ import annotations

from typing import Any

from navctl.contract.records import TensorMeta
from navctl.contract.shapes import BATCH_SYMBOL, given
from navctl.errors import RecipeProblem
from navctl.recipe.yaml_loader import LoadedYaml, YamlProblems, load_yaml

Loc = tuple[Any, ...]


def _axes_of(data: dict[str, Any], section: str) -> list[tuple[int, Any, Any]]:
    """(index, axis key, bounds) of every `<section>[i].axes` entry in the raw recipe."""
    specs = data.get(section)
    out = []
    for i, spec in enumerate(specs if isinstance(specs, list) else []):
        axes = spec.get("axes") if isinstance(spec, dict) else None
        for key, bounds in (axes if isinstance(axes, dict) else {}).items():
            out.append((i, key, bounds))
    return out


def static_problems(data: dict[str, Any]) -> list[tuple[Loc, str]]:
    found: list[tuple[Loc, str]] = []
    batching = data.get("batching") if isinstance(data.get("batching"), dict) else {}
    batch_axis = batching.get("batch_axis", 0)
    for i, key, bounds in _axes_of(data, "inputs"):
        loc: Loc = ("inputs", i, "axes", str(key))
        if batching.get("enabled", True) is not False and key == batch_axis:
            found.append(
                (loc, f"axis {key} is the batch axis: its range is 1..batching.max_batch_size, its symbol 'batch'")
            )
        elif isinstance(bounds, dict) and bounds.get("symbol") == BATCH_SYMBOL:
            found.append((loc + ("symbol",), "'batch' is the batch axis's symbol; give this axis another"))
    for i in sorted({i for i, _, _ in _axes_of(data, "outputs")}):
        found.append((("outputs", i, "axes"), "axes are given for inputs; the outputs' ranges follow the model"))
    return found


def signature_problems(recipe_path, recipe: Any, inputs: list[TensorMeta]) -> list[RecipeProblem]:
    """What in inputs[].axes, profiling.shapes and selection.shape does not fit the recorded signature."""
    found: list[tuple[Loc, str]] = []
    metas = {m.name: m for m in inputs}
    declared: dict[str, list[tuple[Loc, str, int]]] = {}
    for i, spec in enumerate(recipe.inputs or []):
        meta = metas.get(spec.name)
        for axis, bounds in (spec.axes or {}).items() if meta else ():
            loc: Loc = ("inputs", i, "axes", str(axis))
            ranged = next((a for a in meta.axes if a.axis == axis), None)
            if axis >= len(meta.shape) or ranged is None:
                found.append((loc, f"input '{spec.name}' has {len(meta.shape)} axes (shape {meta.shape})"))
                continue
            if bounds.max is not None and bounds.max < ranged.samples_max:
                found.append(
                    (loc + ("max",), f"{bounds.max} is below the samples' largest size here ({ranged.samples_max})")
                )
            if bounds.min is not None and bounds.min > ranged.samples_min:
                found.append(
                    (loc + ("min",), f"{bounds.min} is above the samples' smallest size here ({ranged.samples_min})")
                )
            for end in ("min", "max"):
                if getattr(bounds, end) is not None:
                    declared.setdefault(f"{ranged.symbol}.{end}", []).append(
                        (loc + (end,), spec.name, getattr(bounds, end))
                    )
    for key, entries in declared.items():
        if len({value for _, _, value in entries}) > 1:
            symbol, end = key.rsplit(".", 1)
            listed = ", ".join(f"{name} {value}" for _, name, value in entries)
            found.append(
                (entries[-1][0], f"the axes of symbol '{symbol}' are always one size; their {end} differ ({listed})")
            )
    shapes = recipe.profiling.shapes
    choices = [(("profiling", "shapes", i), c) for i, c in enumerate(shapes)] if isinstance(shapes, list) else []
    for loc, choice in choices + [(("selection", "shape"), recipe.selection.shape)]:
        if isinstance(choice, dict):
            try:
                given(inputs, choice)
            except ValueError as exc:
                found.append((loc, str(exc)))
    return _problems(recipe_path, found)


def _problems(recipe_path, found: list[tuple[Loc, str]]) -> list[RecipeProblem]:
    if not found:
        return []
    try:
        doc: LoadedYaml | None = load_yaml(recipe_path.read_text(encoding="utf-8"))
    except (OSError, YamlProblems):
        doc = None
    problems = []
    for loc, message in found:
        line, col = doc.position(loc) if doc else (0, 0)
        field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
        problems.append(RecipeProblem(message, line, col, field))
    return problems
