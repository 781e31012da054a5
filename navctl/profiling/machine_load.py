"""How busy the machine was while a profile was measured, from what the numbers cannot say themselves.

The reference's drift and the share of unstable points (navctl.profiling.interleave.verdict) catch a
machine whose speed moved. A machine that was busy all along moves nothing: two CPU hogs on a
2-core CI runner from start to end slowed every runner steadily, the reference drifted under 20%, and
the max-throughput winner changed from ONNX Runtime to TorchScript without a word (runtimes share
busy cores differently). So the session also counts the CPU time other processes took from it: the
machine's busy time (steal included: a hypervisor's other guests) less this process tree's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

# Other processes averaging more than this share of the cores the session may use mark its numbers
# unreliable: two hogs on a 2-core machine took 1.4 of its cores; a quiet one, with navctl's own
# coordinating processes waiting, 0.02-0.04.
BUSY_LIMIT = 0.25
LOAD_MARK = "other processes kept"


@dataclass
class MachineLoad:
    cores: int  # the cores this process may run on
    other_cores: float  # the cores other processes (and a hypervisor's steal) kept busy, on average
    own_cores: float  # the cores this process and its descendants kept busy, on average
    seconds: float


def _usable_cpus() -> set[int] | None:
    """The CPUs this process (and so its runners) may run on; None where the system does not say."""
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return None


def _busy_s(psutil, cpus: set[int] | None) -> float:
    """CPU seconds not idle on these CPUs (iowait counts as idle: no process ran); others' load on
    CPUs the session may not use does not slow it."""
    per_cpu = psutil.cpu_times(percpu=True)
    if len(per_cpu) != os.cpu_count():  # some CPU offline: a position is no CPU number, so count them all
        cpus = None
    total = 0.0
    for index, times in enumerate(per_cpu):
        if cpus is not None and index not in cpus:
            continue
        idle = times.idle + getattr(times, "iowait", 0.0)
        guest = getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)  # already inside user
        total += sum(times) - idle - guest
    return total


def _own_s(psutil, me) -> float:
    """CPU seconds of this process tree: each live member's own, and what its children it waited for
    ran (so a runner's compiler or a grandchild reaped by a live child counts, and one that ended in
    between is in its parent's figure now; a stopped runner counts with what it ran)."""
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            t = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


class LoadMeter:
    """Start it before the measurements and call `stop()` after: the other processes' load in between
    (None everywhere when psutil is missing: the load is then not known, and says nothing)."""

    def __init__(self) -> None:
        try:
            import psutil
        except ImportError:
            self._psutil = None
            return
        self._psutil = psutil
        self._me = psutil.Process()
        self._cpus = _usable_cpus()
        self._began = time.monotonic()
        self._machine = _busy_s(psutil, self._cpus)
        self._own = _own_s(psutil, self._me)

    def stop(self) -> MachineLoad | None:
        if self._psutil is None:
            return None
        seconds = time.monotonic() - self._began
        machine = _busy_s(self._psutil, self._cpus) - self._machine
        own = max(0.0, _own_s(self._psutil, self._me) - self._own)
        other = max(0.0, machine - own) / seconds if seconds > 0 else 0.0
        own_cores = own / seconds if seconds > 0 else 0.0
        cores = len(self._cpus) if self._cpus else (self._psutil.cpu_count() or 1)
        return MachineLoad(cores, round(other, 2), round(own_cores, 2), round(seconds, 2))


def busy_reason(cores: int, other_cores: float) -> str:
    """Why other processes' load on `cores` makes the numbers untrustworthy, or ''."""
    share = other_cores / cores if cores else 0.0
    if share <= BUSY_LIMIT:
        return ""
    return (
        f"{LOAD_MARK} {other_cores:.1f} of {cores} cores busy while profiling, "
        f"{share:.0%} of them (the limit is {BUSY_LIMIT:.0%})"
    )


def load_verdict(load: MachineLoad | None) -> str:
    """Why a busy machine makes the numbers untrustworthy, or ''."""
    return busy_reason(load.cores, load.other_cores) if load is not None else ""


def load_fields(load: MachineLoad | None) -> dict[str, int | float | None]:
    """The figures a measuring step reports (`cores`, `other_cores`: None when unknown)."""
    return {"cores": load.cores if load else None, "other_cores": load.other_cores if load else None}


def log_load(log: Callable[[str], None], load: MachineLoad | None) -> None:
    if load is not None:
        log(f"other processes kept {load.other_cores:.2f} of {load.cores} cores busy meanwhile")
