"""How a run is asked for (navctl optimize's options) and what it tells its caller as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field

from navctl.contract.step import STEP_THREADS_ENV
from navctl.plan.models import PlannedStep
from navctl.status import StepRecord


@dataclass
class RunOptions:
    force: bool = False
    only: list[str] = field(default_factory=list)
    jobs: int = 0  # 0: two where there are two cores or more
    threads: int = 0  # 0: the recipe's threads, else every core

    def step_env(self, step: PlannedStep) -> dict[str, str]:
        """What a step's process is told beyond its spec: an ordinary step, which may run beside `jobs - 1`
        others, uses its share of the threads (STEP_THREADS_ENV); a measurement, which runs alone, all.
        Two torch steps of 2 threads each on 2 cores took 3-4x their time alone (a ResNet-18's four
        correctness checks: 20.5 s in all and 12 s of the run, against 7.2 s and 4 s with one thread each);
        the spec, and so the fingerprint and reproduce.sh (which runs alone), keep the run's threads."""
        if step.exclusive or self.jobs <= 1 or self.threads <= 1:
            return {}
        return {STEP_THREADS_ENV: str(max(1, self.threads // self.jobs))}


class Events:
    """Progress callbacks; the CLI's console view overrides these."""

    def started(self, step: PlannedStep) -> None:
        """A step began running."""

    def finished(self, step: PlannedStep, record: StepRecord) -> None:
        """A step reached a final state (including cached, skipped and unavailable)."""

    def note(self, message: str) -> None:
        """A one-line remark for the user."""

    def added(self, steps: list[PlannedStep]) -> None:
        """The plan gained steps while running (a decoder's generation steps)."""
