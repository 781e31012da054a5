"""How a run is asked for (navctl optimize's options) and what it tells its caller as it goes."""

from __future__ import annotations

from dataclasses import dataclass, field

from navctl.plan.models import PlannedStep
from navctl.status import StepRecord


@dataclass
class RunOptions:
    force: bool = False
    only: list[str] = field(default_factory=list)
    jobs: int = 0  # 0: two where there are two cores or more
    threads: int = 0  # 0: the recipe's threads, else every core


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
