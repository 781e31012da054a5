"""The installed libraries a recipe's own files import at their top level (transformers, timm, ...).

The warm worker's annex imports them once, so the steps forked from it do not: every step imports the
user's model file, and Hugging Face's transformers with a BERT or GPT-2 model costs 2.7 s a step on a
2-core machine. The files are read with `ast` (nothing of the user's runs here); modules that lie beside
the user's files, the recipe, or the folder navctl runs in (first on its worker's sys.path) are the
user's own code and are left to the steps; the standard library is cheap and left too.
"""

from __future__ import annotations

import ast
import importlib.machinery
import sys
from collections.abc import Collection, Iterator
from pathlib import Path

MAX_SOURCE_BYTES = 4 << 20


def library_imports(files: list[Path], base_dir: Path, skip: Collection[str] = ()) -> list[str]:
    """`module` or `module:name,name` (a `from module import name` whose names a lazy package such as
    transformers imports on first access) for each top-level import of the `.py` files, but for those
    of the top-level packages in `skip` (imported already)."""
    folders = {base_dir, Path.cwd(), *(file.parent for file in files)}
    found: list[str] = []
    for file in files:
        for module, names in _top_level_imports(file):
            top = module.split(".")[0]
            if top in skip or top in sys.stdlib_module_names or top == "__future__" or _is_local(top, folders):
                continue
            found.append(f"{module}:{','.join(names)}" if names else module)
    return list(dict.fromkeys(found))


def _is_local(top: str, folders: set[Path]) -> bool:
    """Whether a module `top` lies in one of `folders` (a package, a source file or an extension)."""
    suffixes = importlib.machinery.all_suffixes()
    return any((folder / top).is_dir() or any((folder / f"{top}{s}").is_file() for s in suffixes) for folder in folders)


def _top_level_imports(file: Path) -> Iterator[tuple[str, list[str]]]:
    try:
        if file.suffix != ".py" or file.stat().st_size > MAX_SOURCE_BYTES:
            return
        tree = ast.parse(file.read_bytes(), filename=str(file))
    except (OSError, SyntaxError, ValueError):
        return  # the steps report what is wrong with the file
    for node in _module_level(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, [alias.name for alias in node.names if alias.name != "*"]


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
