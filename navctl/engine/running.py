"""The step processes in flight: their deadlines, the escalating signals that end one that overstays
(navctl.engine.signals), and the exits the executor collects."""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from navctl.engine.launch import Launcher, StepHandle
from navctl.engine.record import StepEnd
from navctl.engine.signals import Escalation
from navctl.plan.models import PlannedStep


@dataclass
class Running:
    step: PlannedStep
    handle: StepHandle
    started: float
    fingerprint: str
    deadline: float
    escalation: Escalation = field(default_factory=Escalation)
    timed_out: bool = False
    members: list[tuple[PlannedStep, str]] = field(default_factory=list)  # a side-by-side session's steps

    def end(self, code: int, duration: float, interrupted: bool) -> StepEnd:
        """How the process ended, for its step record (navctl.engine.record)."""
        return StepEnd(code, round(duration, 3), self.timed_out, self.deadline - self.started, interrupted)


class RunningSteps(dict[str, Running]):
    """Step id (or session id) -> its process."""

    def __init__(self, launcher: Launcher, log: Callable[[str], None]) -> None:
        super().__init__()
        self.launcher = launcher
        self.log = log

    def exited(self, now: float) -> list[tuple[Running, int]]:
        """The processes that ended since the last call, with their exit codes; those past their deadline
        are signalled on (SIGINT first: a step's own cleanup runs, and it records nothing)."""
        done: list[tuple[Running, int]] = []
        for key, run in list(self.items()):
            code = run.handle.poll()
            if code is None:
                if now >= run.deadline and not run.escalation.started:
                    run.timed_out = True
                    self.escalate(run, now)
                elif run.escalation.due(now):
                    self.escalate(run, now)
                continue
            del self[key]
            self.launcher.signal(run.handle, signal.SIGKILL)  # whatever the step left behind goes with it
            done.append((run, code))
        return done

    def escalate(self, run: Running, now: float) -> None:
        sent = run.escalation.step(lambda sig: self.launcher.signal(run.handle, sig), now)
        self.log(f"{run.step.id}: sent {sent}")

    def give_until(self, deadline: float) -> None:
        """Bring every deadline forward to `deadline` (the grace after a first interrupt)."""
        for run in self.values():
            run.deadline = min(run.deadline, deadline)

    def stop(self, now: float, at_once: bool) -> None:
        """Signal those past their deadline, or (`at_once`: a second interrupt) all not yet signalled."""
        for run in self.values():
            if not run.escalation.started and (at_once or now >= run.deadline):
                self.escalate(run, now)
