"""The user's files a run depends on, computed once per run: every file the recipe names, the local
modules those files import (transitively, anywhere in the file: a dataloader often imports inside its
body), and the recipe's `runtime_files`.

Each file keeps the roles that reach it (the recipe field whose code names or imports it), and each step
reads the roles of the user code it runs (`READERS`): its fingerprint hashes those files only, so an
edit reruns exactly the steps that read the file (and, through their artifacts' hashes, what depends on
them). status.yaml lists the set, and the Ray executor ships exactly it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from navctl.engine.source_imports import ModuleFinder, read_imports
from navctl.hashing import sha256_file
from navctl.plan import registry
from navctl.plan.kinds import kind
from navctl.plan.models import PlannedStep
from navctl.recipe.files import matching_files
from navctl.recipe.load import LoadedRecipe, resolve_entrypoint_file
from navctl.recipe.models import Recipe

MODEL, DATALOADER, VERIFY, CALIBRATION, RUNTIME = "model", "dataloader", "verify", "calibration", "runtime_files"

# The role of the code each entrypoint field (navctl.recipe.files.ENTRYPOINT_FIELDS) names.
ENTRYPOINT_ROLES: dict[tuple[str, ...], str] = {
    ("model", "entrypoint"): MODEL,
    ("dataloader", "factory"): DATALOADER,
    ("verify", "function"): VERIFY,
    ("quantization", "calibration", "factory"): CALIBRATION,
}


def _makes(step: PlannedStep) -> registry.FormatDef | None:
    """The format a make step (export or convert) produces; None for the other steps."""
    if not kind(step.kind).makes or step.format not in registry.FORMATS:
        return None
    return registry.FORMATS[step.format]


def _runs_source_model(step: PlannedStep, recipe: Recipe) -> bool:
    """The samples step and the source's profile steps run the source model; exports are made from it."""
    if kind(step.kind).reads_model is not None:
        return kind(step.kind).reads_model(step)
    made = _makes(step)
    from_source = made is not None and made.makers[recipe.framework].parent == registry.SOURCE
    return step.format == registry.SOURCE or from_source


def _calibrates(step: PlannedStep, recipe: Recipe) -> bool:
    made = _makes(step)
    return made is not None and made.calibrated and not recipe.quantization.skips_calibration(made.name)


# Which steps run each role's code (navctl/steps/*): the others read recorded samples and artifacts only.
READERS: dict[str, Callable[[PlannedStep, Recipe], bool]] = {
    MODEL: _runs_source_model,
    DATALOADER: lambda step, recipe: kind(step.kind).reads_dataloader,
    CALIBRATION: _calibrates,
    VERIFY: lambda step, recipe: kind(step.kind).reads_verify,
}


def step_roles(step: PlannedStep, recipe: Recipe) -> frozenset[str]:
    """The roles whose files a step reads; runtime files go with any user code, which is what opens them."""
    roles = {role for role, reads in READERS.items() if reads(step, recipe)}
    return frozenset(roles | {RUNTIME} if roles else roles)


@dataclass(frozen=True)
class UserFile:
    path: Path  # absolute
    sha256: str
    roles: frozenset[str]


@dataclass(frozen=True)
class UserFiles:
    base_dir: Path
    files: tuple[UserFile, ...]

    def shown(self, file: UserFile) -> str:
        """Relative to the recipe's folder where inside it, else absolute."""
        inside = file.path.is_relative_to(self.base_dir)
        return file.path.relative_to(self.base_dir).as_posix() if inside else str(file.path)

    def records(self) -> list[dict[str, str]]:
        return [{"path": self.shown(f), "sha256": f.sha256} for f in self.files]

    def hashes(self, roles: Collection[str]) -> dict[str, str]:
        """path -> sha256 of the files any of `roles` reaches: what a step reading them hashes."""
        return {self.shown(f): f.sha256 for f in self.files if f.roles & set(roles)}

    def python_files(self) -> list[Path]:
        return [f.path for f in self.files if f.path.suffix == ".py"]

    def common_root(self) -> Path:
        """The deepest folder holding the recipe's folder and every file: shipped from there, the
        recipe's relative paths (`../models/model.py`) hold on the other side."""
        return Path(os.path.commonpath([self.base_dir, *(f.path for f in self.files)]))


def _named(loaded: LoadedRecipe, finder: ModuleFinder) -> list[tuple[Path, str]]:
    """(file, role) for each file a recipe field names; a dotted entrypoint's module when it is local."""
    recipe, base = loaded.recipe, loaded.base_dir
    named: list[tuple[Path, str]] = []
    for where, role in ENTRYPOINT_ROLES.items():
        value: object = recipe
        for part in where:
            value = getattr(value, part, None) if value is not None else None
        if not isinstance(value, str):
            continue
        file = resolve_entrypoint_file(value, base)
        if file is not None:
            named.append((file.resolve(), role))
        else:
            named += [(f.resolve(), role) for f in finder.module_files(value.rsplit(":", 1)[0], [base]) or []]
    if recipe.model.path:  # a SavedModel is a folder: every file in it
        target = loaded.resolve(recipe.model.path)
        named += [(f, MODEL) for f in (sorted(target.rglob("*")) if target.is_dir() else [target])]
    named += [(f, RUNTIME) for pattern in recipe.runtime_files for f in matching_files(base, pattern)]
    return named


def user_files(loaded: LoadedRecipe) -> UserFiles:
    """The run's user files: each named one, and every local module their Python imports, followed
    through the modules they import in turn (found where Python would: the named files' folders, the
    recipe's folder, the importing file's own; relative imports from its package)."""
    base = loaded.base_dir.resolve()
    finder = ModuleFinder()
    named = [(file, role) for file, role in _named(loaded, finder) if file.is_file()]
    roots = list(dict.fromkeys([*(file.parent for file, _ in named if file.suffix == ".py"), base]))
    roles: dict[Path, set[str]] = {}
    imports: dict[Path, list[Path]] = {}
    queue = list(named)
    while queue:
        file, role = queue.pop()
        if role in roles.setdefault(file, set()):
            continue
        roles[file].add(role)
        if file not in imports:
            found = (finder.local_files(i, file, [*roots, file.parent]) for i in read_imports(file))
            imports[file] = [path.resolve() for paths in found for path in paths]
        queue += [(path, role) for path in imports[file]]
    files = tuple(UserFile(path, sha256_file(path), frozenset(r)) for path, r in sorted(roles.items()))
    return UserFiles(base, files)
