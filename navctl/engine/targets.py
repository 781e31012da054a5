"""Where a run writes: its workspace and its package, named so that a run aimed elsewhere never lands on
the recipe's own package, and checked before the first step so that a destination that cannot be
written is found before the work, not after it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from navctl.destinations import check_file, check_folder
from navctl.errors import EnvironmentProblem, PackageError, UsageError
from navctl.package import is_package, package_origin
from navctl.recipe.load import LoadedRecipe

PACKAGE_SUFFIX = ".nav"


def workspace_path(loaded: LoadedRecipe, override: str | Path | None) -> Path:
    """--workspace resolves against the current folder; the recipe's value against the recipe's."""
    if override is not None:
        return Path(override).resolve()
    return loaded.resolve(loaded.recipe.workspace)


def own_package_path(loaded: LoadedRecipe) -> Path:
    """The package a run of the recipe in its own workspace writes: its `package`, else `<name>.nav`
    beside it."""
    if loaded.recipe.package:
        return loaded.resolve(loaded.recipe.package)
    return (loaded.base_dir / f"{loaded.recipe.name}{PACKAGE_SUFFIX}").resolve()


def package_path(
    loaded: LoadedRecipe, override: str | Path | None, workspace_override: str | Path | None = None
) -> Path:
    """--package wins. A run in another workspace than the recipe's writes `<workspace>.nav` beside that
    workspace (`zoo/<name>/` -> `zoo/<name>.nav`), or `<workspace>-workspace.nav` where that would be
    the recipe's own package (a workspace named like the recipe, beside it). Otherwise the recipe's own."""
    if override is not None:
        return Path(override).resolve()
    own = own_package_path(loaded)
    if workspace_override is None:
        return own
    workspace = Path(workspace_override).resolve()
    if workspace == workspace_path(loaded, None):
        return own
    named = workspace.with_name(workspace.name + PACKAGE_SUFFIX)
    return named if named != own else workspace.with_name(f"{workspace.name}-workspace{PACKAGE_SUFFIX}")


def check_destinations(workspace: Path, package: Path | None, recipes: Iterable[Path] = ()) -> None:
    """Exit 2 for a destination of the wrong kind, exit 4 for one the OS will not let navctl write or
    that holds a file navctl did not write; nothing is created. `package` None: the run writes none."""
    check_folder(workspace, "workspace")
    if package is None:
        return
    if any(package.resolve() == Path(recipe).resolve() for recipe in recipes):
        raise UsageError(
            f"package {package} is a recipe; refusing to overwrite it with the package",
            hint="give --package (or the recipe's `package`) a .nav path, such as "
            f"{package.with_suffix(PACKAGE_SUFFIX)}",
        )
    if workspace == package or workspace in package.parents:
        raise PackageError(f"the package {package} must not be inside the workspace {workspace}")
    folder = package.parent
    above = next((p for p in folder.parents if p.exists()), None)
    if not folder.exists() and folder != workspace.parent and above is not None and above.is_dir():
        # a typo in --package, not a place to create folders in (the workspace's own parent is made)
        raise UsageError(
            f"package {package}: the folder {folder} does not exist",
            hint="create it first, or give --package a path in an existing folder",
        )
    check_file(package, "package", "model.nav")
    if package.is_file() and not is_package(package):
        # like a workspace folder navctl did not create: a user's file is never replaced by a package
        raise EnvironmentProblem(
            f"package {package} exists and is not a navctl package; refusing to replace it",
            hint="give --package (or the recipe's `package`) another path, or move that file away",
        )


def replacement_note(package: Path, workspace: Path) -> str | None:
    """What to say when this run will replace a package that another workspace (or not navctl) wrote."""
    if not package.is_file():
        return None
    origin = package_origin(package)
    if origin == str(workspace):
        return None
    if origin is not None:
        return f"replaced {package}, the package of the workspace {origin} (this run's: {workspace})"
    if is_package(package):
        return f"replaced {package}, a package whose workspace is not recorded (this run's: {workspace})"
    return f"replaced {package}, which was not a navctl package"
