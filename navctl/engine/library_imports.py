"""The installed libraries a recipe's own files import at their top level (transformers, timm, ...).

The warm worker's annex imports them once, so the steps forked from it do not: every step imports the
user's model file, and Hugging Face's transformers with a BERT or GPT-2 model costs 2.7 s a step on a
2-core machine. The imports are read by `navctl.engine.source_imports` (nothing of the user's runs
here); modules that lie beside the user's files, the recipe, or the folder navctl runs in (first on its
worker's sys.path) are the user's own code and are left to the steps; the standard library is cheap and
left too.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from navctl.engine.source_imports import ModuleFinder, is_standard, read_imports


def library_imports(files: list[Path], base_dir: Path, skip: Collection[str] = ()) -> list[str]:
    """`module` or `module:name,name` (a `from module import name` whose names a lazy package such as
    transformers imports on first access) for each top-level import of the `.py` files, but for those
    of the top-level packages in `skip` (imported already)."""
    folders = list(dict.fromkeys([base_dir, Path.cwd(), *(file.parent for file in files)]))
    finder = ModuleFinder()
    found: list[str] = []
    for file in files:
        for imported in read_imports(file):
            module = imported.module
            if not imported.at_import or imported.level or module.split(".")[0] in skip:
                continue
            if is_standard(module) or finder.is_local(module, folders):
                continue
            found.append(f"{module}:{','.join(imported.names)}" if imported.names else module)
    return list(dict.fromkeys(found))
