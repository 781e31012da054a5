"""`--only GLOB...`: the steps a partial run runs (those matching, and what they need), pure."""

from __future__ import annotations

import difflib
from fnmatch import fnmatch

from navctl.errors import UsageError
from navctl.plan.models import Plan


def only_steps(plan: Plan, patterns: list[str]) -> set[str]:
    """The ids of the steps matching any pattern, with their dependencies; every pattern must match a
    step (a typo in one of several would otherwise shrink the run without a word)."""
    chosen: set[str] = set()

    def add(step_id: str) -> None:
        if step_id not in chosen:
            chosen.add(step_id)
            for dep in plan.step(step_id).deps:
                add(dep)

    steps = [s for s in plan.steps if not s.inline]
    for pattern in patterns:
        matching = [s.id for s in steps if fnmatch(s.id, pattern)]
        if not matching:
            close = difflib.get_close_matches(pattern, [s.id for s in steps], n=1, cutoff=0.6)
            suggestion = f"; did you mean '{close[0]}'?" if close else ""
            raise UsageError(f"--only {pattern}: matches no step{suggestion}", hint="`navctl plan RECIPE` lists them")
        for step_id in matching:
            add(step_id)
    return chosen


def check_only(plan: Plan, patterns: list[str]) -> None:
    """Refuse, before anything runs, a pattern that matches no step."""
    only_steps(plan, patterns)


def left_out(plan: Plan, chosen: set[str], recorded: set[str]) -> list[str]:
    """The steps a partial run leaves out whose earlier records (`recorded`: the previous status's step
    ids) it keeps, results and all: a partial run never wipes what an earlier one found."""
    return [s.id for s in plan.steps if s.id not in chosen and not s.inline and s.id in recorded]


def selected_steps(plan: Plan, patterns: list[str]) -> set[str]:
    """The steps a run with `--only patterns` runs (all but the inline ones when none is given)."""
    return only_steps(plan, patterns) if patterns else {s.id for s in plan.steps if not s.inline}
