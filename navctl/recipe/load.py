"""Read a recipe file into a `Recipe`, reporting every problem with its file position."""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.util
import re
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from navctl.errors import RecipeError, RecipeProblem
from navctl.plan import registry
from navctl.recipe.axes import static_problems
from navctl.recipe.files import ENTRYPOINT_FIELDS, matching_files
from navctl.recipe.models import Recipe
from navctl.recipe.units import parse_duration
from navctl.recipe.yaml_loader import MAX_FILE_BYTES, LoadedYaml, YamlProblems, load_yaml

__all__ = ["LoadedRecipe", "load_recipe", "parse_duration", "resolve_entrypoint_file"]


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


def against_recipe(base_dir: Path, path: str | Path) -> Path:
    """The one rule for paths in recipes: absolute as given, else relative to the recipe's folder."""
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


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
                    f"the top level must be a mapping of recipe fields, not a {_yaml_kind(doc.data)}", line, col
                )
            ],
        )
    data = dict(doc.data)
    if overrides:
        data.update({k: v for k, v in overrides.items() if v is not None})
    problems: list[RecipeProblem] = []
    recipe = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        problems += _pydantic_problems(exc, doc)
    # Cross-field checks read the raw data, so they report alongside type errors, not after a fix.
    problems += _cross_checks(data, file.resolve().parent, doc)
    if problems or recipe is None:
        problems = sorted(_dedupe(problems), key=lambda p: (p.line, p.col))
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
        hint = _suggest(name, real)
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


def _yaml_kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(exc: ValidationError, doc: LoadedYaml) -> list[RecipeProblem]:
    problems = []
    for err in _without_union_noise(exc.errors(include_url=False)):
        # Pydantic adds the union member or validator name to loc (e.g. 'literal['auto']'); drop those.
        loc = tuple(p for p in err["loc"] if isinstance(p, int) or not _is_internal_loc(p))
        path = _yaml_path(doc, tuple(str(p) if not isinstance(p, int) else p for p in loc))
        line, col = doc.position(path, key=err["type"] == "extra_forbidden")
        message = _message(err, loc)
        problems.append(RecipeProblem(message, line, col, _dotted(path)))
    return problems


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
        hint = _suggest(key, allowed)
        return f"unknown key '{key}'{hint}" + ("" if hint else f"; allowed keys: {', '.join(allowed)}")
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
        hint = _suggest(str(value), options) if isinstance(value, str) else ""
        return f"'{value}' is not one of {', '.join(options)}{hint}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"must be a mapping, not a {_yaml_kind(value)}"
    if kind == "list_type":
        return f"must be a list, not a {_yaml_kind(value)}"
    return msg[0].lower() + msg[1:] if msg else kind


def _dedupe(problems: list[RecipeProblem]) -> list[RecipeProblem]:
    seen: set[tuple[int, int, str]] = set()
    out = []
    for p in problems:
        key = (p.line, p.col, p.field)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


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


def resolve_entrypoint_file(entrypoint: str, base_dir: Path) -> Path | None:
    """The file an entrypoint names ('dir/file.py:fn'), resolved against the recipe's folder."""
    module = entrypoint.rsplit(":", 1)[0]
    if not module.endswith(".py"):
        return None
    return against_recipe(base_dir, module)


def _entrypoint_problem(entrypoint: str, base_dir: Path) -> str | None:
    file = resolve_entrypoint_file(entrypoint, base_dir)
    if file is not None:
        if not file.is_file():
            return f"file '{file}' does not exist (paths are relative to the recipe's folder)"
        return _callable_problem(file, entrypoint.rsplit(":", 1)[1])
    top = entrypoint.rsplit(":", 1)[0].split(".")[0]
    # find_spec on a top-level name imports nothing; the recipe's folder is searched like sys.path.
    if (base_dir / f"{top}.py").is_file() or (base_dir / top).is_dir():
        return None
    if importlib.util.find_spec(top) is None:
        return f"module '{top}' cannot be found (not beside the recipe, nor installed in {sys.prefix})"
    return None


MAX_SOURCE_BYTES = 4 << 20


def _callable_problem(file: Path, name: str) -> str | None:
    """A syntax error in the file, or `name` not defined at its top level, read with `ast` (nothing is
    imported or run). Modules that can define names dynamically (star imports, `__getattr__`) pass."""
    try:
        if file.stat().st_size > MAX_SOURCE_BYTES:
            return None
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except SyntaxError as exc:
        return f"{file.name}:{exc.lineno}:{exc.offset or 0}: syntax error: {exc.msg}"
    except (OSError, ValueError):
        return None
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    return None
                defined.add(alias.asname or alias.name.split(".")[0])
        else:
            for target in ast.walk(node):
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                    defined.add(target.id)
    if name in defined or "__getattr__" in defined:
        return None
    if any(
        isinstance(n, (ast.If, ast.Try, ast.With, ast.For, ast.While)) and _defined_anywhere(n, name) for n in tree.body
    ):
        return None
    public = sorted(d for d in defined if not d.startswith("_"))
    hint = _suggest(name, public)
    return f"{file.name} defines no '{name}'" + (hint or (f"; it defines: {', '.join(public[:12])}" if public else ""))


def _defined_anywhere(node: ast.AST, name: str) -> bool:
    """`name` is bound somewhere inside a compound statement (e.g. a def under `if torch_available:`)."""
    for inner in ast.walk(node):
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and inner.name == name:
            return True
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) and inner.id == name:
            return True
        if isinstance(inner, (ast.Import, ast.ImportFrom)) and any(
            (a.asname or a.name.split(".")[0]) == name for a in inner.names
        ):
            return True
    return False


def _get(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _cross_checks(data: dict[str, Any], base_dir: Path, doc: LoadedYaml) -> list[RecipeProblem]:
    """Checks that span fields or touch the file system; they read raw data and skip ill-typed parts."""
    found: list[tuple[tuple[Any, ...], str]] = []
    fw = data.get("framework") if data.get("framework") in registry.FRAMEWORKS else None
    model = data.get("model") if isinstance(data.get("model"), dict) else None
    if model is not None:
        entry, path = model.get("entrypoint"), model.get("path")
        if entry and path:
            found.append((("model", "path"), "give either entrypoint or path, not both"))
        elif not entry and not path:
            found.append((("model",), "needs an entrypoint (code that builds the model) or a path (a model file)"))
        if isinstance(path, str) and fw:
            if fw not in ("onnx", "tensorflow"):
                found.append(
                    (
                        ("model", "path"),
                        f"path: models are for framework onnx or tensorflow, not {fw}; give model.entrypoint instead",
                    )
                )
            else:
                target = against_recipe(base_dir, path)
                if not target.exists():
                    found.append(
                        (
                            ("model", "path"),
                            f"'{target}' does not exist (paths are relative to the "
                            "recipe's folder; `make demo` creates the example ONNX model)",
                        )
                    )
        if fw == "onnx" and entry:
            found.append((("model", "entrypoint"), "framework onnx takes model.path (an .onnx file)"))
    if fw and fw != "onnx" and data.get("dataloader") is None:
        found.append((("dataloader",), f"is required for framework {fw}"))
    for where in ENTRYPOINT_FIELDS:
        entrypoint = _get(data, *where)
        if isinstance(entrypoint, str) and ":" in entrypoint:
            problem = _entrypoint_problem(entrypoint.strip(), base_dir)
            if problem:
                found.append((where, problem))
    runtime_files = data.get("runtime_files")
    for i, pattern in enumerate(runtime_files if isinstance(runtime_files, list) else []):
        if isinstance(pattern, str) and pattern and not matching_files(base_dir, pattern):
            found.append((("runtime_files", i), f"'{pattern}' matches no file (relative to the recipe's folder)"))
    targets = data.get("targets")
    if isinstance(targets, list):
        valid = registry.targets_for(fw) if fw else registry.all_target_names()
        for i, target in enumerate(targets):
            if not isinstance(target, str) or target in valid:
                continue
            if target in registry.all_target_names():
                found.append(
                    (("targets", i), f"'{target}' cannot be made from a {fw} model; {fw} targets: {', '.join(valid)}")
                )
            else:
                hint = _suggest(target, registry.all_target_names())
                found.append((("targets", i), f"unknown target '{target}'{hint}"))
    gates = _get(data, "correctness", "formats")
    if isinstance(gates, dict):
        for name in gates:
            if name not in registry.FORMATS:
                found.append(
                    (
                        ("correctness", "formats", name),
                        f"unknown format '{name}'{_suggest(str(name), list(registry.FORMATS))}",
                    )
                )
    strategies = _get(data, "selection", "strategies")
    if (
        isinstance(strategies, list)
        and "max-throughput-within-latency-budget" in strategies
        and _get(data, "selection", "latency_budget_ms") is None
    ):
        found.append(
            (("selection", "strategies"), "max-throughput-within-latency-budget needs selection.latency_budget_ms")
        )
    sizes, max_bs = _get(data, "profiling", "batch_sizes"), _get(data, "batching", "max_batch_size")
    if isinstance(sizes, list) and isinstance(max_bs, int) and _get(data, "batching", "enabled") is not False:
        too_big = [b for b in sizes if isinstance(b, int) and b > max_bs]
        if too_big:
            found.append((("profiling", "batch_sizes"), f"{too_big} exceed batching.max_batch_size ({max_bs})"))
    found += static_problems(data)
    problems = []
    for loc, message in found:
        line, col = doc.position(tuple(loc))
        problems.append(RecipeProblem(message, line, col, _dotted(tuple(loc))))
    return problems
