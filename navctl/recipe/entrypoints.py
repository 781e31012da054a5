"""The user's code a recipe names, checked before anything runs: the file exists, parses, and defines the
callable (read with `ast`, nothing imported); a module beside the recipe is read the same way, an
installed one only looked for."""

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
    module, attr = entrypoint.rsplit(":", 1)
    file = resolve_entrypoint_file(entrypoint, base_dir)
    if file is not None:
        if not file.is_file():
            return f"file '{file}' does not exist (paths are relative to the recipe's folder)"
        return _callable_problem(file, attr)
    return _module_problem(module, attr, base_dir)


def _module_problem(module: str, attr: str, base_dir: Path) -> str | None:
    """A dotted module found beside the recipe is read like a file (the loader puts the recipe's folder first
    on sys.path, so it finds the same one); one that is not there is an installed one, only looked for."""
    folder, source = base_dir, None
    for depth, part in enumerate(module.split(".")):
        if source is not None and source.name != "__init__.py":
            where = source.relative_to(base_dir).as_posix()
            return f"module '{module}' cannot be found: {where} beside the recipe is a module, not a package"
        package, file = folder / part, folder / f"{part}.py"
        # the import system's order within one folder: a package, then a module, then a namespace package
        if (package / "__init__.py").is_file():
            source = package / "__init__.py"
        elif file.is_file():
            source = file
        elif package.is_dir() and not (depth == 0 and _installed_regular(part)):
            source = None  # a namespace package: no source; its submodules are looked for below it
        elif depth == 0:
            if importlib.util.find_spec(part) is None:  # a top-level name: imports nothing
                return f"module '{part}' cannot be found (not beside the recipe, nor installed in {sys.prefix})"
            return None
        elif source is None:
            return None  # below namespace packages only: another folder on sys.path may hold the rest
        else:
            where = package.relative_to(base_dir).as_posix()
            return f"module '{module}' cannot be found: no {where}.py or {where}/ beside the recipe"
        folder = package
    if source is None:
        return None
    return _callable_problem(source, attr, source.relative_to(base_dir).as_posix())


def _installed_regular(name: str) -> bool:
    """An installed module or package of that name, which the import prefers to a namespace folder."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None


MAX_SOURCE_BYTES = 4 << 20


def _callable_problem(file: Path, name: str, shown: str | None = None) -> str | None:
    """A syntax error in the file, or `name` not defined at its top level, read with `ast` (nothing is
    imported or run). Modules that can define names dynamically (star imports, `__getattr__`) pass.
    `shown`: how messages name the file (default: its name)."""
    shown = shown or file.name
    name = name.split(".")[0]  # 'Builder.create': the file must define Builder; its attributes are left to the import
    try:
        if file.stat().st_size > MAX_SOURCE_BYTES:
            return None
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except SyntaxError as exc:
        return f"{shown}:{exc.lineno}:{exc.offset or 0}: syntax error: {exc.msg}"
    except (OSError, ValueError):
        return None
    bound = _bindings(tree.body, {})
    if "*" in bound or name in bound or "__getattr__" in bound:
        return None
    if any(
        isinstance(n, (ast.If, ast.Try, ast.With, ast.For, ast.While)) and _defined_anywhere(n, name) for n in tree.body
    ):
        return None
    # listed: what the file defines itself; `from x import f` may be the callable meant, so it is offered
    # too, but a module (`import torch`) never is
    listed = sorted(n for n, kinds in bound.items() if kinds == {"own"} and not n.startswith("_"))
    hint = suggest(name, listed) or suggest(name, sorted(n for n, kinds in bound.items() if "from" in kinds))
    return f"{shown} defines no '{name}'" + (hint or (f"; it defines: {', '.join(listed[:12])}" if listed else ""))


def _bindings(body: list[ast.stmt], bound: dict[str, set[str]]) -> dict[str, set[str]]:
    """The names a module's top level binds -> how: 'own' (def, class, assignment), 'from' (`from x import
    y`), 'module' (`import x`); '*' for a star import. Compound statements (`if`, `try`, ...) bind at the top
    level too; function and class bodies do not."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.setdefault(node.name, set()).add("own")
            for leaf in ast.walk(node):  # `global build` in a function may bind it at the top level
                if isinstance(leaf, ast.Global):
                    for name in leaf.names:
                        bound.setdefault(name, set()).add("own")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if isinstance(node, ast.Import):
                    bound.setdefault(alias.asname or alias.name.split(".")[0], set()).add("module")
                else:
                    bound.setdefault(alias.asname or alias.name, set()).add("from")
        else:
            targets = [getattr(node, "target", None), *getattr(node, "targets", [])]
            targets += [item.optional_vars for item in getattr(node, "items", [])]
            for leaf in (leaf for t in targets if t is not None for leaf in ast.walk(t)):
                if isinstance(leaf, ast.Name) and isinstance(leaf.ctx, ast.Store):
                    bound.setdefault(leaf.id, set()).add("own")
            for leaf in ast.walk(node):  # `print(model := build())` binds at the top level too
                if isinstance(leaf, ast.NamedExpr) and isinstance(leaf.target, ast.Name):
                    bound.setdefault(leaf.target.id, set()).add("own")
            for part in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, part, []):
                    _bindings(child.body if isinstance(child, (ast.excepthandler, ast.match_case)) else [child], bound)
    return bound


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
