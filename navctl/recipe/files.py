"""The recipe fields that name the user's files, and what a `runtime_files` pattern stands for."""

from __future__ import annotations

import glob
from pathlib import Path

# Every field holding a 'file.py:callable' or 'package.module:callable' of the user's code (checked by
# validation, hashed into the step cache, shipped to Ray workers).
ENTRYPOINT_FIELDS: tuple[tuple[str, ...], ...] = (
    ("model", "entrypoint"),
    ("dataloader", "factory"),
    ("verify", "function"),
    ("quantization", "calibration", "factory"),
)


def matching_files(base_dir: Path, pattern: str) -> list[Path]:
    """The files a `runtime_files` entry stands for: a path or a glob (`**` spans folders), relative to
    the recipe's folder unless absolute; a folder stands for every file under it."""
    found: set[Path] = set()
    for match in glob.glob(pattern, root_dir=base_dir, recursive=True):
        path = (base_dir / match).resolve()
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            found.add(path)
    return sorted(found)
