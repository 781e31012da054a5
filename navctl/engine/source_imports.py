"""The imports of the user's Python files, read with `ast` (nothing of the user's runs here), and where
Python would find the modules that are the user's own.

One reader for two jobs: the files a run depends on (`navctl.engine.user_files`: every local module a
file imports, anywhere in it, followed transitively) and the installed libraries the warm worker's annex
imports (`navctl.engine.library_imports`: those imported when the module is, that are not local).
"""

from __future__ import annotations

import ast
import importlib.machinery
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_SOURCE_BYTES = 4 << 20


@dataclass(frozen=True)
class Import:
    module: str  # as written: 'pkg.sub' ('' in `from . import x`)
    names: tuple[str, ...]  # a `from` import's names (submodules or attributes); '*' left out
    level: int  # the leading dots of a relative import; 0: absolute
    at_import: bool  # runs when the module is imported (its body, `if`/`try` blocks), not in a function


def read_imports(file: Path) -> list[Import]:
    """Every import statement of a `.py` file, in source order; nothing for a file that is not Python,
    cannot be read or does not parse (the steps report what is wrong with it)."""
    try:
        if file.suffix != ".py" or file.stat().st_size > MAX_SOURCE_BYTES:
            return []
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except (OSError, SyntaxError, ValueError):
        return []
    at_import = {id(node) for node in _module_level(tree.body)}
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [Import(alias.name, (), 0, id(node) in at_import) for alias in node.names]
        else:
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            found.append(Import(node.module or "", names, node.level, id(node) in at_import))
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import: the module's own, and those inside its `if` and `try` blocks (such as
    `try: import x` / `except ImportError`; not `if TYPE_CHECKING:`), not those inside functions or classes."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            yield from _module_level(node.orelse if _is_type_checking(node.test) else node.body + node.orelse)
        elif isinstance(node, ast.Try):
            handlers = [stmt for handler in node.handlers for stmt in handler.body]
            yield from _module_level(node.body + handlers + node.orelse + node.finalbody)


def _find(folder: Path, name: str) -> tuple[Path | None, Path | None] | None:
    """`name` in `folder` as Python's path finder sees it: (the package folder its submodules are in,
    None for a plain module; the file that runs, None for a namespace package). A regular package
    first, then a module file (source or extension), then a namespace package (a folder without
    `__init__`); None when it is not there."""
    package = folder / name
    suffixes = importlib.machinery.all_suffixes()
    init = next((package / f"__init__{s}" for s in suffixes if (package / f"__init__{s}").is_file()), None)
    if init is not None:
        return package, init
    module = next((folder / f"{name}{s}" for s in suffixes if (folder / f"{name}{s}").is_file()), None)
    if module is not None:
        return None, module
    return (package, None) if package.is_dir() else None


def module_files(module: str, roots: Iterable[Path], names: tuple[str, ...] = ()) -> list[Path] | None:
    """The files Python runs to import dotted `module` from the first of `roots` holding its first part:
    each package's `__init__`, the module's own file, and those of `names` that are its submodules
    (`from pkg import sub`). None when no root holds it: an installed library, the standard library, or
    a module that does not exist (the step will say so)."""
    parts = [p for p in module.split(".") if p]
    first = next((found for root in roots if (found := _find(root, parts[0])) is not None), None) if parts else None
    if first is None:
        return None
    package, file = first
    files = [file] if file else []
    for part in parts[1:]:
        found = _find(package, part) if package is not None else None
        if found is None:
            return files  # an attribute of a module, or missing: the step reports it
        package, file = found
        files += [file] if file else []
    if package is not None:
        subs = (_find(package, name) for name in names)
        files += [sub[1] for sub in subs if sub is not None and sub[1] is not None]
    return files


def is_standard(module: str) -> bool:
    """A module of Python's standard library (`__future__` included)."""
    return module.split(".")[0] in sys.stdlib_module_names


def is_local(module: str, roots: Iterable[Path]) -> bool:
    """An absolute import of the user's own code: a module one of `roots` holds, the standard library's
    names left out (Python imported those long before the user's code runs)."""
    return not is_standard(module) and module_files(module.split(".")[0], roots) is not None


def local_files(imported: Import, file: Path, roots: Iterable[Path]) -> list[Path]:
    """The user's own files an import in `file` runs: a relative import's, found from the file's package
    folder, or an absolute one's found in `roots` (nothing for a library)."""
    if imported.level == 0:
        if is_standard(imported.module):
            return []
        return module_files(imported.module, roots, imported.names) or []
    base = file.parent
    for _ in range(imported.level - 1):
        base = base.parent
    if not imported.module:
        subs = (_find(base, name) for name in imported.names)
        return [sub[1] for sub in subs if sub is not None and sub[1] is not None]
    return module_files(imported.module, [base], imported.names) or []
