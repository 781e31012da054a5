"""Which pending step starts next: skips first, then the ordinary step with the most work behind it,
and an exclusive step (profiling) only when nothing else runs."""

from __future__ import annotations

from collections.abc import Callable, Collection

from navctl.engine.launch import Launcher
from navctl.engine.preload import annex_steps
from navctl.plan.models import Plan, PlannedStep
from navctl.status import SUCCESS_STATES


class Scheduler:
    def __init__(self, plan: Plan, state_of: Callable[[str], str]) -> None:
        self.state_of = state_of  # a step's current state in status.yaml
        self.refresh(plan)

    def refresh(self, plan: Plan) -> None:
        """Read the plan again: it gained steps while running (navctl.engine.plan_growth)."""
        self._chain = plan.work_behind()
        # steps whose runtimes import something later (the worker's annex); asked at every scheduling turn
        self._annex_steps = annex_steps(plan)

    def needs_later(self, steps: list[PlannedStep]) -> bool:
        return any(step.id in self._annex_steps for step in steps)

    def ready(self, step: PlannedStep) -> bool:
        """Every dependency has ended (well or not)."""
        return all(self.state_of(d) not in ("pending", "running") for d in [*step.deps, *step.after])

    def failed_dep(self, step: PlannedStep) -> str | None:
        """A dependency that ended without success (the step is skipped), else None."""
        return next((d for d in step.deps if self.state_of(d) not in SUCCESS_STATES), None)

    def can_start(self, step: PlannedStep) -> bool:
        return self.ready(step) and self.failed_dep(step) is None

    def next(self, pending: list[PlannedStep], running: Collection[str], launcher: Launcher) -> PlannedStep | None:
        """Skips first, then ordinary steps; profiling and select only when nothing else runs."""
        ready = [s for s in pending if self.ready(s)]
        for step in ready:
            if self.failed_dep(step) is not None:
                return step
        # a step that needs the worker's annex (navctl.engine.worker) waits for it while others start
        ordinary = [s for s in ready if not s.exclusive and launcher.ready(self.needs_later([s]))]
        if ordinary:
            # the longest chain first: the ONNX export (with conversions and checks behind it) must not
            # wait behind short steps that nothing waits for
            return max(ordinary, key=lambda s: self._chain[s.id])
        if running or not launcher.ready(True):  # a side-by-side session may hold any runtime
            return None
        return ready[0] if ready else None
