"""The workspace folder: its layout, its lock, and refusing folders that are not navctl's."""

from __future__ import annotations

import os
from pathlib import Path

import filelock

from navctl.destinations import unwritable
from navctl.errors import EnvironmentProblem, WorkspaceLocked
from navctl.status import STATUS_FILE

LOCK_FILE = ".navctl.lock"
PID_FILE = ".navctl.pid"
LOG_FILE = "navctl.log"
STEPS_DIR = "steps"
# Never packed: lock files, the running pid, and temp files of atomic writes.
TRANSIENT = (LOCK_FILE, PID_FILE)


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._lock: filelock.BaseFileLock | None = None

    def step_dir(self, step_id: str) -> Path:
        return self.root / STEPS_DIR / step_id

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def acquire(self) -> None:
        """Create the folder if needed and lock it; a second run exits 4 and touches nothing. (That the
        path is a folder navctl may write was checked before: `engine.targets.check_destinations`.)"""
        if self.root.is_dir() and any(self.root.iterdir()) and not self._looks_like_workspace():
            raise EnvironmentProblem(
                f"workspace {self.root} is a folder that navctl did not create; refusing to write into it",
                hint="choose another --workspace, or empty that folder",
            )
        lock = filelock.FileLock(str(self.root / LOCK_FILE), timeout=0)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except filelock.Timeout:  # first: it is an OSError too (a TimeoutError)
            holder = self._holder()
            raise WorkspaceLocked(
                f"workspace {self.root} is in use by another navctl run{holder}",
                hint="wait for it to finish, or give this run another --workspace",
            ) from None
        except OSError as exc:  # checked before the run (check_destinations); here when it changed since
            raise unwritable("workspace", self.root, exc) from None
        self._lock = lock
        (self.root / PID_FILE).write_text(str(os.getpid()))

    def release(self) -> None:
        if self._lock is not None:
            (self.root / PID_FILE).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def _holder(self) -> str:
        pid = recorded_pid(self.root)
        return f" (pid {pid})" if pid is not None else ""

    def _looks_like_workspace(self) -> bool:
        return any((self.root / name).exists() for name in (STATUS_FILE, LOCK_FILE, STEPS_DIR, LOG_FILE))


def recorded_pid(root: Path) -> int | None:
    """The pid of the run that holds (or held) the workspace, None when none is recorded."""
    try:
        return int((root / PID_FILE).read_text())
    except (OSError, ValueError):
        return None


def run_is_gone(root: Path) -> bool:
    """Whether the run a status.yaml calls running has ended without finishing it (killed with SIGKILL,
    or its machine lost): nothing holds the workspace's lock. False when that cannot be told."""
    pid = recorded_pid(root)
    if not (root / LOCK_FILE).is_file() or pid is None:  # no lock or no pid recorded: cannot tell
        return False
    try:
        os.kill(pid, 0)
        return False  # its process lives (a lock taken now would stall a run starting meanwhile)
    except ProcessLookupError:
        pass
    except OSError:  # another user's process: cannot tell
        return False
    lock = filelock.FileLock(str(root / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except (filelock.Timeout, OSError):  # held, or a folder this user cannot lock
        return False
    lock.release()
    return True
