"""The .nav package: a zip of the workspace, written atomically, and read back without trusting it."""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from navctl.engine.workspace import TRANSIENT
from navctl.errors import PackageError
from navctl.status import STATUS_FILE, Status, parse_status, temp_beside

MAX_UNPACKED_BYTES = 20 << 30
MAX_ENTRIES = 100_000
MAX_RATIO = 200  # a member that inflates more than this is a zip bomb, not a model
# The zip comment names the workspace a package was written from, so a run about to replace a package
# can tell whether it is its own (outside the members: status.yaml and the artifacts stay as they were).
ORIGIN_PREFIX = "navctl workspace: "


def _packable(path: Path, root: Path) -> bool:
    rel = path.relative_to(root)
    name = rel.name
    if name in TRANSIENT or (name.startswith(".") and name.endswith(".tmp")):
        return False
    return not path.is_symlink()


def _format_folders(workspace: Path, keep: set[str] | None) -> set[str]:
    """Top-level folders of formats to leave out (None: keep every format)."""
    if keep is None:
        return set()
    from navctl.plan import registry

    folders = {Path(fmt.artifact).parts[0] for name, fmt in registry.FORMATS.items() if name not in keep}
    kept = {Path(registry.FORMATS[name].artifact).parts[0] for name in keep if name in registry.FORMATS}
    return folders - kept


def write_package(
    workspace: Path,
    target: Path,
    formats: set[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Zip the workspace (status.yaml first) to a temp name beside `target`, then rename it.

    `formats`: keep only these formats' folders (None keeps all); `progress(done_bytes, total_bytes)`
    is called after each file, for a progress line on big models."""
    target = target.resolve()
    workspace = workspace.resolve()
    if workspace == target or workspace in target.parents:
        raise PackageError(f"the package {target} must not be inside the workspace {workspace}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(target)
    os.close(fd)
    try:
        skipped = _format_folders(workspace, formats)
        files = [
            path
            for path in sorted(workspace.rglob("*"))
            if path.is_file()
            and _packable(path, workspace)
            and path.relative_to(workspace).as_posix() != STATUS_FILE
            and path.relative_to(workspace).parts[0] not in skipped
        ]
        total = sum(path.stat().st_size for path in files)
        done = 0
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            archive.comment = f"{ORIGIN_PREFIX}{workspace}".encode()
            archive.write(workspace / STATUS_FILE, STATUS_FILE)
            for path in files:
                archive.write(path, path.relative_to(workspace).as_posix())
                done += path.stat().st_size
                if progress is not None:
                    progress(done, total)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def set_origin(package: Path, workspace: Path) -> None:
    """Record `workspace` as the package's origin (a package made elsewhere, e.g. on a Ray worker, and
    unpacked into this workspace); only the zip's end record is rewritten."""
    with zipfile.ZipFile(package, "a") as archive:
        archive.comment = f"{ORIGIN_PREFIX}{workspace.resolve()}".encode()


def package_origin(package: Path) -> str | None:
    """The workspace `package` was written from; None when it is not a navctl package or was written
    before navctl kept that record."""
    try:
        with zipfile.ZipFile(package) as archive:
            comment = archive.comment.decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, EOFError):
        return None
    return comment.removeprefix(ORIGIN_PREFIX) if comment.startswith(ORIGIN_PREFIX) else None


def is_package(path: Path) -> bool:
    """A zip holding status.yaml: what navctl writes (its contents are not checked here)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return STATUS_FILE in archive.namelist()
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def _open(package: Path) -> zipfile.ZipFile:
    if not package.exists():
        raise PackageError(f"{package}: no such file")
    if package.is_dir():
        raise PackageError(f"{package} is a folder; give a .nav file (or a workspace to `navctl status`)")
    try:
        return zipfile.ZipFile(package)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise PackageError(f"{package} is not a readable .nav package (corrupt or truncated zip: {exc})") from None


def check_members(archive: zipfile.ZipFile, where: str) -> None:
    """Refuse absolute paths, '..', symlinks, too many entries and size bombs before anything is read."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise PackageError(f"{where}: {len(infos)} entries is more than a package holds ({MAX_ENTRIES})")
    total = 0
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in parts or "\\" in name:
            raise PackageError(f"{where}: unsafe entry '{name}' (absolute path or '..'); refusing the package")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise PackageError(f"{where}: entry '{name}' is a symbolic link; refusing the package")
        total += info.file_size
        if info.compress_size and info.file_size / max(info.compress_size, 1) > MAX_RATIO and info.file_size > 1 << 20:
            raise PackageError(
                f"{where}: entry '{name}' inflates {info.file_size // info.compress_size}x; refusing a likely zip bomb"
            )
    if total > MAX_UNPACKED_BYTES:
        raise PackageError(f"{where}: unpacks to {total} bytes, over the {MAX_UNPACKED_BYTES}-byte limit")


def read_package_status(package: Path) -> Status:
    with _open(package) as archive:
        check_members(archive, str(package))
        try:
            text = archive.read(STATUS_FILE).decode("utf-8")
        except KeyError:
            raise PackageError(f"{package}: no status.yaml inside; not a navctl package") from None
        except (zipfile.BadZipFile, OSError, EOFError, UnicodeDecodeError) as exc:
            raise PackageError(f"{package}: status.yaml cannot be read ({exc})") from None
    try:
        return parse_status(text, str(package))
    except PackageError:
        raise
    except Exception as exc:  # parse_status raises UsageError; keep the package's own error type
        raise PackageError(str(getattr(exc, "message", exc))) from None


def replace_package_status(package: Path, status: Status) -> None:
    """Rewrite the package with a new status.yaml (e.g. load-test results), every other member copied
    as stored; written beside it and renamed, so a reader never sees half a package."""
    from navctl.status import dump_status

    with _open(package) as source:
        check_members(source, str(package))
        fd, tmp = temp_beside(package)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as target:
                target.comment = source.comment
                target.writestr(STATUS_FILE, dump_status(status))
                for info in source.infolist():
                    if info.filename != STATUS_FILE:
                        with source.open(info) as member, target.open(info, "w") as copy:
                            while chunk := member.read(1 << 20):
                                copy.write(chunk)
            os.replace(tmp, package)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def extract_package(package: Path, target: Path) -> Path:
    """Unpack into `target` after the member checks; a member that inflates past its declared size or
    resolves outside `target` stops the extraction."""
    target = target.resolve()
    target.mkdir(parents=True, exist_ok=True)
    with _open(package) as archive:
        check_members(archive, str(package))
        try:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                dest = (target / info.filename).resolve()
                if target not in dest.parents:
                    raise PackageError(f"{package}: entry '{info.filename}' would land outside {target}")
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as source, open(dest, "wb") as out:
                    written = 0
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > info.file_size:
                            raise PackageError(f"{package}: entry '{info.filename}' is larger than it declares")
                        out.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise PackageError(f"{package}: cannot be unpacked ({exc})") from None
    return target


def list_package(package: Path) -> list[tuple[str, int]]:
    with _open(package) as archive:
        check_members(archive, str(package))
        return [(i.filename, i.file_size) for i in archive.infolist()]
