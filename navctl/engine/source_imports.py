"""The imports of the user's Python files, read with `ast` (nothing of the user's runs here), and where
Python would find the modules that are the user's own.

One reader for two jobs: the files a run depends on (`navctl.engine.user_files`: every local module a
file imports, anywhere in it, followed transitively) and the installed libraries the warm worker's annex
imports (`navctl.engine.library_imports`: those imported when the module is, that are not local).
"""

from __future__ import annotations

import ast
import importlib.machinery
import os
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
    nodes = [n for n in _statements(tree.body) if isinstance(n, ast.Import | ast.ImportFrom)]
    nodes.sort(key=lambda n: (n.lineno, n.col_offset))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [Import(alias.name, (), 0, id(node) in at_import) for alias in node.names]
        else:
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            found.append(Import(node.module or "", names, node.level, id(node) in at_import))
    return found


# The fields that hold statements; an import is a statement, so expressions (most of a tree) are never
# walked: ast.walk over every node took 0.13 s for 64 files of 350 KiB.
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _statements(body: list) -> Iterator[ast.AST]:
    """Every statement of a body and of the blocks inside it (functions, classes, if, try, with, match...)."""
    for node in body:
        yield node
        for block in _BLOCKS:
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                yield from _statements(inner)


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


class ModuleFinder:
    """Where Python's path finder would find the user's modules, from each folder's listing read once.
    Make one per computation: files come and go between runs (a notebook keeps its process)."""

    def __init__(self) -> None:
        self._listings: dict[Path, dict[str, bool]] = {}
        self._suffixes = importlib.machinery.all_suffixes()

    def _listing(self, folder: Path) -> dict[str, bool]:
        """name -> is a folder, for everything in `folder` (nothing when it cannot be read)."""
        if folder not in self._listings:
            try:
                with os.scandir(folder) as entries:
                    self._listings[folder] = {e.name: e.is_dir() for e in entries}
            except OSError:
                self._listings[folder] = {}
        return self._listings[folder]

    def find(self, folder: Path, name: str) -> tuple[Path | None, Path | None] | None:
        """`name` in `folder`: (the package folder its submodules are in, None for a plain module; the
        file that runs, None for a namespace package). A regular package first, then a module file
        (source or extension), then a namespace package (a folder without `__init__`); None when it is
        not there."""
        listing = self._listing(folder)
        if listing.get(name):
            package = folder / name
            inits = self._listing(package)
            init = next((f"__init__{s}" for s in self._suffixes if inits.get(f"__init__{s}") is False), None)
            if init is not None:
                return package, package / init
        module = next((f"{name}{s}" for s in self._suffixes if listing.get(f"{name}{s}") is False), None)
        if module is not None:
            return None, folder / module
        return (folder / name, None) if listing.get(name) else None

    def module_files(self, module: str, roots: Iterable[Path], names: tuple[str, ...] = ()) -> list[Path] | None:
        """The files Python runs to import dotted `module` from the first of `roots` holding its first
        part: each package's `__init__`, the module's own file, and those of `names` that are its
        submodules (`from pkg import sub`). None when no root holds it: an installed library, the
        standard library, or a module that does not exist (the step will say so)."""
        parts = [p for p in module.split(".") if p]
        found = next((f for root in roots if (f := self.find(root, parts[0])) is not None), None) if parts else None
        if found is None:
            return None
        package, file = found
        files = [file] if file else []
        for part in parts[1:]:
            inner = self.find(package, part) if package is not None else None
            if inner is None:
                return files  # an attribute of a module, or missing: the step reports it
            package, file = inner
            files += [file] if file else []
        if package is not None:
            subs = (self.find(package, name) for name in names)
            files += [sub[1] for sub in subs if sub is not None and sub[1] is not None]
        return files

    def is_local(self, module: str, roots: Iterable[Path]) -> bool:
        """An absolute import of the user's own code: a module one of `roots` holds, the standard
        library's names left out (Python imported those long before the user's code runs)."""
        return not is_standard(module) and self.module_files(module.split(".")[0], roots) is not None

    def local_files(self, imported: Import, file: Path, roots: Iterable[Path]) -> list[Path]:
        """The user's own files an import in `file` runs: a relative import's, found from the file's
        package folder, or an absolute one's found in `roots` (nothing for a library)."""
        if imported.level == 0:
            return (
                [] if is_standard(imported.module) else self.module_files(imported.module, roots, imported.names) or []
            )
        base = file.parent
        for _ in range(imported.level - 1):
            base = base.parent
        if not imported.module:
            subs = (self.find(base, name) for name in imported.names)
            return [sub[1] for sub in subs if sub is not None and sub[1] is not None]
        return self.module_files(imported.module, [base], imported.names) or []


def is_standard(module: str) -> bool:
    """A module of Python's standard library (`__future__` included)."""
    return module.split(".")[0] in sys.stdlib_module_names
