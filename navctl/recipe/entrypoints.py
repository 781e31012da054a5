"""The user's code a recipe names, checked before anything runs: the file exists, parses, and defines the
callable (read with `ast`, nothing imported), or the module can be found."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from navctl.recipe.messages import suggest


def against_recipe(base_dir: Path, path: str | Path) -> Path:
    """The one rule for paths in recipes: absolute as given, else relative to the recipe's folder."""
    p = Path(path)
    return p if p.is_absolute() else base_dir / p


def resolve_entrypoint_file(entrypoint: str, base_dir: Path) -> Path | None:
    """The file an entrypoint names ('dir/file.py:fn'), resolved against the recipe's folder."""
    module = entrypoint.rsplit(":", 1)[0]
    if not module.endswith(".py"):
        return None
    return against_recipe(base_dir, module)


def entrypoint_problem(entrypoint: str, base_dir: Path) -> str | None:
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
    hint = suggest(name, public)
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
