"""Import the user's callables: 'path/to/file.py:fn' (relative to the recipe) or 'package.module:fn'."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any


def load_callable(entrypoint: str, base_dir: Path) -> Any:
    module_part, attr = entrypoint.rsplit(":", 1)
    if module_part.endswith(".py"):
        module = _import_file(Path(module_part) if Path(module_part).is_absolute() else base_dir / module_part)
    else:
        if str(base_dir) not in sys.path:
            sys.path.insert(0, str(base_dir))
        module = importlib.import_module(module_part)
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise AttributeError(f"'{module_part}' has no attribute '{attr}'") from None
    if not callable(target):
        raise TypeError(f"'{entrypoint}' is not callable (it is a {type(target).__name__})")
    return target


def _import_file(path: Path) -> Any:
    path = path.resolve()
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == str(path):
            return module
    # The file's folder goes on sys.path so the user's sibling imports work as when they run it.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    name = path.stem if path.stem not in sys.modules else f"navctl_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
