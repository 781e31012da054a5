"""What `navctl report` reads: workspaces and packages, or folders holding several of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from navctl.errors import UsageError
from navctl.status import STATUS_FILE, Status


@dataclass
class ReportSource:
    where: Path
    status: Status
    files: dict[str, int] = field(default_factory=dict)  # path in the workspace -> bytes
    workspace: Path | None = None  # for reading step logs (None for a package)

    @property
    def name(self) -> str:
        return self.status.recipe.name


def _workspace(folder: Path) -> ReportSource:
    from navctl.status import read_status

    files = {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    return ReportSource(folder, read_status(folder), files, folder)


def _package(path: Path) -> ReportSource:
    from navctl.package import list_package, read_package_status

    return ReportSource(path, read_package_status(path), dict(list_package(path)))


def collect(targets: list[Path]) -> list[ReportSource]:
    """Each target: a workspace, a .nav package, or a folder whose workspaces (one level down) and
    packages make a fleet."""
    found: list[ReportSource] = []
    for target in targets:
        if target.is_dir() and (target / STATUS_FILE).is_file():
            found.append(_workspace(target))
        elif target.is_file():
            found.append(_package(target))
        elif target.is_dir():
            inside = sorted(p.parent for p in target.glob(f"*/{STATUS_FILE}")) + sorted(target.glob("*.nav"))
            if not inside:
                raise UsageError(f"{target}: no workspace (*/status.yaml) or package (*.nav) in this folder")
            found += [_workspace(p) if p.is_dir() else _package(p) for p in inside]
        else:
            raise UsageError(f"{target}: no such workspace or package")
    # a workspace and the package written from it are one run: keep the workspace (it has the logs)
    seen: set[tuple[str, str]] = set()
    unique = []
    for source in sorted(found, key=lambda s: s.workspace is None):
        run = (source.name, source.status.run.started_at)
        if run not in seen:
            seen.add(run)
            unique.append(source)
    return sorted(unique, key=lambda s: found.index(s))
