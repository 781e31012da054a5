"""Signals for step processes: their death with the parent, the process group they lead, and the
escalation after a timeout or an interrupt (SIGINT, then SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass

_PR_SET_PDEATHSIG = 1
# Escalation after a timeout or an interrupt: SIGINT, then SIGTERM, then SIGKILL, this far apart.
ESCALATION_S = 2.0
_LADDER = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def die_with_parent() -> None:
    """Die with the parent (Linux): an orphaned step must not keep writing into a workspace."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def signal_group(pid: int, sig: int) -> None:
    """Signal the step's whole process group (it leads its own session); ignore it if already gone."""
    try:
        os.killpg(pid, sig)
        return
    except (ProcessLookupError, PermissionError):
        pass  # a forked step may not have called setsid() yet: signal the process itself
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


@dataclass
class Escalation:
    """Where one step process is on the way from a polite SIGINT (a step records nothing and exits) to
    SIGKILL (a step stuck in native code)."""

    stage: int = 0  # 0 running, 1 SIGINT sent, 2 SIGTERM sent, 3 SIGKILL sent
    next_signal_at: float = 0.0

    @property
    def started(self) -> bool:
        return self.stage > 0

    def due(self, now: float) -> bool:
        return self.started and now >= self.next_signal_at

    def step(self, send: Callable[[int], None], now: float) -> str:
        """Send the next signal of the ladder; returns its name."""
        sig = _LADDER[min(self.stage, len(_LADDER) - 1)]
        send(sig)
        self.stage += 1
        self.next_signal_at = now + ESCALATION_S
        return signal.Signals(sig).name
