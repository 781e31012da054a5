"""What `status` and `diff` read: a workspace or a package, and the workspace found when none is named."""

from __future__ import annotations

from pathlib import Path

from navctl.errors import UsageError


def default_workspace() -> Path:
    """The current folder when it is a workspace, else ./navigator_workspace, else the only workspace in
    a folder here or one further down (a recipe's, written beside it)."""
    if Path("status.yaml").is_file() and (Path("steps").is_dir() or Path("navctl.log").is_file()):
        return Path()  # inside a workspace (a status.yaml of something else is no workspace)
    here = Path("navigator_workspace")
    if here.is_dir():
        return here
    found = sorted({p.parent for pattern in ("*/status.yaml", "*/*/status.yaml") for p in Path().glob(pattern)})
    if len(found) == 1:
        return found[0]
    listed = f"; workspaces found: {', '.join(str(p) for p in found)}" if found else ""
    raise UsageError(
        f"no workspace given and there is no ./navigator_workspace{listed}",
        hint="navctl status WORKSPACE_OR_PACKAGE (a recipe's workspace is beside the recipe, e.g. "
        "recipes/navigator_workspace)",
    )


def load_status(target: Path):
    from navctl.package import read_package_status
    from navctl.status import read_status

    if target.is_dir():
        return read_status(target)
    if target.suffix == ".nav" or target.is_file():
        return read_package_status(target)
    raise UsageError(f"{target}: no such workspace or package")
