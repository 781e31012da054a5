"""The folders and files a user names for navctl to write, checked before any work starts.

A destination that names the wrong kind of thing (a file where a folder goes) is bad usage, exit 2; one
the operating system will not let navctl write (a read-only file system, no permission, a path under a
regular file) is exit 4, naming the path and the OS's reason. Checking writes nothing but a probe file
that is removed at once, so a command refused here leaves no trace.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from navctl.errors import EnvironmentProblem, UsageError


class Unwritable(EnvironmentProblem):
    """A destination the operating system refuses to write."""


def unwritable(what: str, path: Path, exc: OSError) -> Unwritable:
    """The one message for an OS refusal: `WHAT PATH: cannot be written: REASON`."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOTDIR and (blocker := _file_above(path)) is not None:
        reason += f" ({blocker} is a file)"
    return Unwritable(f"{what} {path}: cannot be written: {reason}", hint=_HINTS.get(exc.errno or 0))


_HINTS = {
    errno.EROFS: "choose a folder on a writable file system",
    errno.EACCES: "choose a folder you may write to, or change its permissions",
    errno.EPERM: "choose a folder you may write to, or change its permissions",
    errno.ENOSPC: "free some space, or choose another disk",
    errno.EDQUOT: "free some space, or choose another disk",
}


def _file_above(path: Path) -> Path | None:
    """The nearest existing part of `path` (itself or a parent) when it is a file, else None."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return candidate if not candidate.is_dir() else None
    return None


def _existing_ancestor(path: Path) -> Path:
    """`path` or its nearest parent that exists (what a `mkdir -p` would write into)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(path.anchor or ".")


def _probe(folder: Path) -> None:
    """Create and remove a file in `folder`: the only test that sees read-only mounts, ACLs and quotas
    alike (os.access answers yes to root for every folder, and ignores some mounts)."""
    # named like the temp files of atomic writes, which packing skips: another run may be packing this folder
    fd, name = tempfile.mkstemp(prefix=".navctl-probe-", suffix=".tmp", dir=folder)
    os.close(fd)
    os.unlink(name)


def check_folder(path: Path, what: str) -> Path:
    """Refuse, before anything is written, a folder destination that cannot be made or written; the
    folder itself is not created. Returns the absolute path."""
    path = Path(path).absolute()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{what} {path}: exists and is not a folder", hint=f"give {what} a folder path")
    _check_writable(path, what, path)
    return path


def check_file(path: Path, what: str, example: str) -> Path:
    """Refuse a file destination that is a folder, or whose folder cannot be made or written."""
    path = Path(path).absolute()
    if path.is_dir():
        raise UsageError(f"{what} {path}: is a folder; give a file name such as {path / example}")
    _check_writable(path.parent, what, path)
    return path


def _check_writable(folder: Path, what: str, shown: Path) -> None:
    """Prove that `folder` can be written, or made (a write into its nearest existing parent)."""
    target = _existing_ancestor(folder)
    try:
        if not target.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(target))
        _probe(target)
    except OSError as exc:
        raise unwritable(what, shown, exc) from None


@contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """Turn an OS refusal met while writing `path` (a disk that filled up, a mount gone read-only since
    the check) into the same exit-4 message as the check before."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _WRITE_ERRNOS:
            raise unwritable(what, Path(path).absolute(), exc) from None
        raise


# What the OS says when a destination cannot take a write; any other OSError is a bug to report.
_WRITE_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.ENOTDIR}
