"""Importing the libraries the user's files import, in the processes that load exported artifacts.

A library may register operators when imported (torchvision's `torchvision::nms`, detectron-style
extensions through torch.library, TensorFlow ops through `tf.load_op_library`). The source model's
process imports it with the model file; a process that only loads a TorchScript program or a SavedModel
does not, and fails with `Unknown builtin op`. So runner processes import the list the parent read from
the user's files (navctl.engine.library_imports; the warm worker's annex imports the same list).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable


def import_entry(entry: str) -> None:
    """`module`, or `module:name,name`: the names too, which a lazy package imports on first access."""
    module, _, names = entry.partition(":")
    imported = importlib.import_module(module)
    for name in filter(None, names.split(",")):
        try:
            getattr(imported, name)
        except AttributeError:
            importlib.import_module(f"{module}.{name}")


def import_libraries(entries: Iterable[str], log: Callable[[str], None]) -> None:
    """Import each entry; one that fails is logged and left (the runner then reports what is missing)."""
    for entry in entries:
        try:
            import_entry(entry)
        except Exception as exc:  # noqa: BLE001 - a library the model file imported, failing here, is a hint only
            log(f"could not import {entry} (a library the model's files import): {type(exc).__name__}: {exc}")
