"""What travels to a Ray worker with a recipe: the recipe file and its user files (navctl.engine.user_files:
what the recipe names, the local modules those import, runtime_files), exactly the set a local run
hashes, zipped under their common folder so the recipe's relative paths (`../models/model.py`) hold
on the worker. Nothing else of the folder travels: a file no import names and runtime_files does not
list would not be hashed either."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from navctl.engine.user_files import user_files
from navctl.errors import UsageError
from navctl.recipe.load import LoadedRecipe

# Code and small data; past this it is almost always a dataset listed in runtime_files.
UPLOAD_LIMIT = 512 << 20


@dataclass(frozen=True)
class Shipment:
    root: Path  # the deepest folder holding the recipe and every file
    files: tuple[Path, ...]  # absolute; the recipe's among them
    recipe: str  # the recipe's path under root
    user_files: list[dict[str, str]]  # status.yaml's user_files, as this machine sees them

    @classmethod
    def of(cls, loaded: LoadedRecipe) -> Shipment:
        found = user_files(loaded)
        root = found.common_root()
        files = tuple(sorted({loaded.path, *(f.path for f in found.files)}))
        return cls(root, files, loaded.path.relative_to(root).as_posix(), found.records())

    def check_size(self, shown: Path, limit: int = UPLOAD_LIMIT) -> None:
        size = sum(path.stat().st_size for path in self.files)
        if size >= limit:
            raise UsageError(
                f"recipe {shown}: its {len(self.files)} files (the recipe, the code it names with what that "
                f"imports, runtime_files) hold {size / 2**20:,.0f} MiB; navctl ships at most "
                f"{limit / 2**20:,.0f} MiB to a Ray worker",
                hint="load large data from storage the workers can reach instead of listing it in runtime_files",
            )

    def zip(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in self.files:
                archive.write(path, path.relative_to(self.root).as_posix())
        return buffer.getvalue()
