"""Recipe checks that span fields or touch the file system, one small function each.

They read the raw data (so they report alongside type errors, not after a fix), in which every value that
failed its own field's check is `INVALID`: they skip those and the ill-typed parts, which the models
report, so none reports a knock-on of a problem already shown. What a framework takes (a model file,
code, a dataloader) is read from the registry's framework facts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from navctl.errors import RecipeProblem
from navctl.plan import registry
from navctl.recipe.axes import static_problems
from navctl.recipe.entrypoints import against_recipe, entrypoint_problem
from navctl.recipe.files import ENTRYPOINT_FIELDS, matching_files
from navctl.recipe.messages import dotted, suggest
from navctl.recipe.options import TensorRTOptions
from navctl.recipe.yaml_loader import LoadedYaml

Found = list[tuple[tuple[Any, ...], str]]  # (field path, message)


class _Invalid:
    """A value the models refused: of no type a check looks for, and never None (it was given)."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID = _Invalid()


@dataclass(frozen=True)
class Raw:
    """The recipe as read, with what every check needs."""

    data: dict[str, Any]
    base_dir: Path
    framework: registry.FrameworkDef | None  # None: missing or unknown (the models say which)

    def get(self, *path: str) -> Any:
        data: Any = self.data
        for part in path:
            if not isinstance(data, dict):
                return None
            data = data.get(part)
        return data

    @property
    def model(self) -> dict[str, Any] | None:
        model = self.data.get("model")
        return model if isinstance(model, dict) else None


def model_source(raw: Raw) -> Found:
    """model: an entrypoint or a path, exactly one."""
    if raw.model is None:
        return []
    entry, path = raw.model.get("entrypoint"), raw.model.get("path")
    if entry and path:
        return [(("model", "path"), "give either entrypoint or path, not both")]
    if not entry and not path:
        return [(("model",), "needs an entrypoint (code that builds the model) or a path (a model file)")]
    return []


def model_path(raw: Raw) -> Found:
    """model.path: only for frameworks whose model can be a file, and the file must exist."""
    fw = raw.framework
    path = raw.model.get("path") if raw.model else None
    if not isinstance(path, str) or fw is None:
        return []
    if fw.model_file is None:
        takers = " or ".join(registry.path_frameworks())
        message = f"path: models are for framework {takers}, not {fw.name}; give model.entrypoint instead"
        return [(("model", "path"), message)]
    target = against_recipe(raw.base_dir, path)
    if target.exists():
        return []
    message = (
        f"'{target}' does not exist (paths are relative to the recipe's folder; `make demo` creates the "
        "example ONNX model)"
    )
    return [(("model", "path"), message)]


def model_entrypoint(raw: Raw) -> Found:
    """model.entrypoint: not for frameworks whose model is a file only."""
    fw = raw.framework
    if fw is None or fw.entrypoint or not (raw.model and raw.model.get("entrypoint")):
        return []
    return [(("model", "entrypoint"), f"framework {fw.name} takes model.path ({fw.model_file})")]


def dataloader(raw: Raw) -> Found:
    fw = raw.framework
    if fw is not None and fw.needs_dataloader and raw.data.get("dataloader") is None:
        return [(("dataloader",), f"is required for framework {fw.name}")]
    return []


def entrypoints(raw: Raw) -> Found:
    """Every field naming the user's code names a file or module that exists and defines the callable."""
    found: Found = []
    for where in ENTRYPOINT_FIELDS:
        entrypoint = raw.get(*where)
        if isinstance(entrypoint, str) and ":" in entrypoint:
            problem = entrypoint_problem(entrypoint.strip(), raw.base_dir)
            if problem:
                found.append((where, problem))
    return found


def runtime_files(raw: Raw) -> Found:
    patterns = raw.data.get("runtime_files")
    return [
        (("runtime_files", i), f"'{pattern}' matches no file (relative to the recipe's folder)")
        for i, pattern in enumerate(patterns if isinstance(patterns, list) else [])
        if isinstance(pattern, str) and pattern and not matching_files(raw.base_dir, pattern)
    ]


def targets(raw: Raw) -> Found:
    """Each target is a format or group the framework's plan can make."""
    targets = raw.data.get("targets")
    if not isinstance(targets, list):
        return []
    fw = raw.framework.name if raw.framework else None
    every = registry.all_target_names()
    valid = registry.targets_for(fw) if fw else every
    found: Found = []
    for i, target in enumerate(targets):
        if not isinstance(target, str) or target in valid:
            continue
        if target in every:
            found.append(
                (("targets", i), f"'{target}' cannot be made from a {fw} model; {fw} targets: {', '.join(valid)}")
            )
        else:
            found.append((("targets", i), f"unknown target '{target}'{suggest(target, every)}"))
    return found


def format_gates(raw: Raw) -> Found:
    """correctness.formats names known formats."""
    gates = raw.get("correctness", "formats")
    if not isinstance(gates, dict):
        return []
    known = list(registry.FORMATS)
    return [
        (("correctness", "formats", name), f"unknown format '{name}'{suggest(str(name), known)}")
        for name in gates
        if name not in registry.FORMATS
    ]


def latency_budget(raw: Raw) -> Found:
    strategies = raw.get("selection", "strategies")
    if (
        isinstance(strategies, list)
        and "max-throughput-within-latency-budget" in strategies
        and raw.get("selection", "latency_budget_ms") is None
    ):
        return [(("selection", "strategies"), "max-throughput-within-latency-budget needs selection.latency_budget_ms")]
    return []


def pin(raw: Raw) -> Found:
    """selection.pin: known names, and a candidate the targets make on a runner of the recipe's device (its
    shape is the field's check). The targets only count when every one is valid, the framework known."""
    key, fw = raw.get("selection", "pin"), raw.framework
    if not isinstance(key, str):
        return []
    made = _made_formats(raw)
    try:
        problem = registry.key_problem(key, fw.name if fw else None, made)
    except registry.BadName:
        return []
    device = raw.data.get("device")
    if problem is None and device in registry.DEVICES and registry.device_of(key) != device:
        problem = f"{key} runs on {registry.device_of(key)}, but the recipe's device is {device}"
    return [(("selection", "pin"), problem)] if problem else []


def _made_formats(raw: Raw) -> list[str] | None:
    """Every format the recipe's plan makes; None when its targets (or TensorRT precisions) are not all valid,
    as the list would then not be what the user meant (the targets check says why)."""
    fw, targets = raw.framework, raw.get("targets")
    precisions = raw.get("tensorrt", "precisions")
    precisions = TensorRTOptions().precisions if precisions is None else precisions
    if fw is None or not isinstance(targets, list) or not isinstance(precisions, list):
        return None
    valid = registry.targets_for(fw.name)
    if not all(isinstance(t, str) and t in valid for t in targets):
        return None
    if not all(p in registry.TRT_PRECISIONS for p in precisions):
        return None
    return registry.with_parents(registry.expand_targets(targets, precisions), fw.name)


def batch_sizes(raw: Raw) -> Found:
    """profiling.batch_sizes within batching.max_batch_size (when batching is on)."""
    sizes, max_bs = raw.get("profiling", "batch_sizes"), raw.get("batching", "max_batch_size")
    enabled = raw.get("batching", "enabled")
    if not (isinstance(sizes, list) and isinstance(max_bs, int)) or enabled is False or enabled is INVALID:
        return []
    too_big = [b for b in sizes if isinstance(b, int) and b > max_bs]
    return [(("profiling", "batch_sizes"), f"{too_big} exceed batching.max_batch_size ({max_bs})")] if too_big else []


def axes(raw: Raw) -> Found:
    """inputs[].axes, profiling.shapes and selection.shape (navctl.recipe.axes)."""
    return static_problems(raw.data)


# In this order: two problems at one position keep the first (load_recipe dedupes).
CHECKS: tuple[Callable[[Raw], Found], ...] = (
    model_source,
    model_path,
    model_entrypoint,
    dataloader,
    entrypoints,
    runtime_files,
    targets,
    format_gates,
    latency_budget,
    pin,
    batch_sizes,
    axes,
)


def cross_problems(
    data: dict[str, Any], base_dir: Path, doc: LoadedYaml, invalid: Sequence[tuple[Any, ...]] = ()
) -> list[RecipeProblem]:
    """Every check's problems, each at its field's position in the file; `invalid`: the locations of the
    values that failed their own field's check (navctl.recipe.messages.invalid_locations)."""
    for loc in invalid:
        data = _marked(data, loc)
    name = data.get("framework")
    raw = Raw(data, base_dir, registry.FRAMEWORK_DEFS.get(name) if isinstance(name, str) else None)
    problems = []
    for check in CHECKS:
        for loc, message in check(raw):
            line, col = doc.position(tuple(loc))
            problems.append(RecipeProblem(message, line, col, dotted(tuple(loc))))
    return problems


def _marked(data: Any, loc: tuple[Any, ...]) -> Any:
    """A copy of `data` with the value at `loc` replaced by INVALID (`data` itself when nothing is there);
    only the containers on the way are copied. A key the YAML holds as a number Pydantic may name as a
    string, and the other way round."""
    if not loc:
        return INVALID
    part, rest = loc[0], loc[1:]
    if isinstance(data, dict):
        key = next((k for k in (part, str(part)) if k in data), None)
        if key is None and isinstance(part, str) and part.isdigit() and int(part) in data:
            key = int(part)
        if key is None:
            return data
        return {**data, key: _marked(data[key], rest)}
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return [*data[:part], _marked(data[part], rest), *data[part + 1 :]]
    return data
