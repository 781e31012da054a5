"""Steps a plan gains while it runs: a decoder's generation steps, known only once the samples step has
recorded the model's outputs (navctl/generation/plan_ext.py). They go before `select`, which stays last,
get their status records, and are handed to the running loop."""

from __future__ import annotations

from pathlib import Path

from navctl.engine.run_options import Events
from navctl.generation.spec import added_steps
from navctl.plan.models import Plan, PlannedStep
from navctl.recipe.models import Recipe
from navctl.status import Status, StepRecord


def grow(plan: Plan, status: Status, workspace: Path, recipe: Recipe, events: Events) -> list[PlannedStep]:
    """The steps to schedule now (those this machine can run); none for a model that is not a decoder."""
    steps = added_steps(plan, workspace, recipe)
    if not steps:
        return []
    plan.steps[-1:-1] = steps
    plan.notes.append(f"the samples step found a decoder: {len(steps)} generation steps added")
    events.note(plan.notes[-1])
    events.added(steps)
    for step in steps:
        status.steps[step.id] = StepRecord(
            kind=step.kind, state="pending" if step.available else "unavailable", reason=step.reason
        )
        if not step.available:
            events.finished(step, status.steps[step.id])
    return [s for s in steps if s.available]
