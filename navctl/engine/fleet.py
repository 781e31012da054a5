"""Many recipes in one command (`navctl optimize A.yaml B.yaml ...`): every recipe validated before any
runs, then each through the same engine, workspace, status.yaml and package as a single run, one after
another on this machine so that no recipe's profiling shares the machine with another's work.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from navctl.engine.api import RunOutcome, run_recipe
from navctl.engine.executor import Events, RunOptions
from navctl.engine.targets import check_destinations, package_path, workspace_path
from navctl.errors import (
    EXIT_ENVIRONMENT,
    EXIT_FORMATS_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EnvironmentProblem,
    NavctlError,
    RecipeError,
    UsageError,
    WorkspaceLocked,
)
from navctl.plan.expand import expand
from navctl.plan.models import Plan, PlannedStep
from navctl.recipe.load import LoadedRecipe, load_recipe
from navctl.status import StepRecord

# The fleet's exit code is its worst recipe's, in this order of severity.
SEVERITY = (EXIT_OK, EXIT_FORMATS_FAILED, EXIT_ENVIRONMENT, EXIT_USAGE, EXIT_INTERNAL)


def worst_exit(codes: list[int]) -> int:
    if EXIT_INTERRUPTED in codes:
        return EXIT_INTERRUPTED
    ranked = [c for c in codes if c in SEVERITY]
    return max(ranked, key=SEVERITY.index) if ranked else EXIT_OK


# What the state column says of a recipe stopped before its first step, by what stopped it (the most
# specific first); its whole message goes in a note under the fleet table.
NOT_RUN_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (RecipeError, "invalid recipe"),
    (WorkspaceLocked, "workspace locked"),
    (UsageError, "usage error"),
    (EnvironmentProblem, "cannot run here"),
    (KeyboardInterrupt, "interrupted"),
)


def not_run_reason(exc: BaseException) -> str:
    return next((word for kind, word in NOT_RUN_REASONS if isinstance(exc, kind)), "internal error")


@dataclass
class FleetEntry:
    loaded: LoadedRecipe
    plan: Plan | None  # None: this machine cannot plan it (plan_error says why); a cluster still may
    workspace: Path | None  # None: the recipe's own
    state: str = "queued"  # queued | running | done | not run
    exit_code: int | None = None
    outcome: RunOutcome | None = None
    error: str = ""  # the whole message of what stopped it
    wall_s: float = 0.0
    attempts: int = 1  # more than 1: a cluster retried it after a node died
    plan_error: NavctlError | None = None
    reason: str = ""  # not run: why, in a word or two (NOT_RUN_REASONS, unschedulable)

    @property
    def name(self) -> str:
        return self.loaded.recipe.name

    def not_run(self, reason: str, exit_code: int | None, error: str = "") -> None:
        self.state, self.reason, self.exit_code, self.error = "not run", reason, exit_code, error


class StepsSeen(Events):
    """A recipe's step events passed on, noting whether any step reached a state: an error raised before
    that one did means the recipe never ran."""

    def __init__(self, inner: Events) -> None:
        self.inner = inner
        self.seen = False

    def started(self, step: PlannedStep) -> None:
        self.seen = True
        self.inner.started(step)

    def finished(self, step: PlannedStep, record: StepRecord) -> None:
        self.seen = True
        self.inner.finished(step, record)

    def note(self, message: str) -> None:
        self.inner.note(message)


class FleetRecipeErrors(NavctlError):
    """Every invalid recipe of the command line, reported together; nothing ran."""

    exit_code = EXIT_USAGE

    def __init__(self, errors: list[RecipeError]) -> None:
        super().__init__(f"{len(errors)} of the recipes are invalid; nothing ran")
        self.errors = errors


def load_all(paths: list[Path], workspace: Path | None) -> list[FleetEntry]:
    """Validate every recipe first; with --workspace DIR each recipe works in DIR/<name>/, so two recipes
    with one name would share it: refused before anything runs."""
    errors: list[RecipeError] = []
    loaded: list[LoadedRecipe] = []
    for path in paths:
        try:
            loaded.append(load_recipe(path))
        except RecipeError as exc:
            errors.append(exc)
    if errors:
        raise FleetRecipeErrors(errors)
    seen: dict[str, Path] = {}
    for item in loaded:
        name = item.recipe.name
        if name in seen:
            raise UsageError(
                f"{seen[name]} and {item.path} are both named '{name}': their workspaces and packages would collide",
                hint="give each recipe its own `name`",
            )
        seen[name] = item.path
    entries = []
    for item in loaded:
        entry = FleetEntry(item, None, workspace / item.recipe.name if workspace else None)
        try:
            entry.plan = expand(item.recipe)
        except NavctlError as exc:  # e.g. device: cuda on a machine without CUDA: that recipe's problem only
            entry.plan_error = exc
        entries.append(entry)
    return entries


class FleetDestinationErrors(NavctlError):
    """Recipes whose workspace or package cannot be written, reported together; nothing ran."""

    def __init__(self, errors: list[NavctlError]) -> None:
        super().__init__(f"{len(errors)} of the recipes cannot write their workspace or package; nothing ran")
        self.errors = errors
        self.exit_code = worst_exit([e.exit_code for e in errors])


def check_fleet_destinations(entries: list[FleetEntry], pack: bool) -> None:
    """Before the first recipe runs: no two recipes share a workspace or a package (the second would
    overwrite the first's), and every one can be written (a read-only folder is not found hours later,
    at the recipe that uses it)."""
    owners: dict[Path, FleetEntry] = {}
    problems: list[NavctlError] = []
    recipes = [entry.loaded.path for entry in entries]  # no recipe of the fleet is any one's package
    for entry in entries:
        workspace = workspace_path(entry.loaded, entry.workspace)
        package = package_path(entry.loaded, None, entry.workspace) if pack else None
        for kind, path in (("workspace", workspace), ("package", package)):
            if path is None:
                continue
            if path in owners:
                raise UsageError(
                    f"{owners[path].loaded.path} and {entry.loaded.path} would share the {kind} {path}",
                    hint=f"give each recipe its own `{kind}`, or run them with --workspace DIR (DIR/<name>/ each)",
                )
            owners[path] = entry
        try:
            check_destinations(workspace, package, recipes)
        except NavctlError as exc:
            problems.append(exc)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise FleetDestinationErrors(problems)


class FleetEvents:
    """What a fleet view needs to hear; the CLI's console view overrides these."""

    def recipe_started(self, entry: FleetEntry) -> Events:
        """A recipe begins; the returned Events hear its steps."""
        return Events()

    def recipe_submitted(self, entry: FleetEntry) -> None:
        """A recipe was handed to a cluster; its steps run there, out of sight."""

    def recipe_finished(self, entry: FleetEntry) -> None:
        """A recipe ended: done, or not run (entry.reason says why)."""


def run_fleet(
    entries: list[FleetEntry],
    options: RunOptions,
    events: FleetEvents | None = None,
    pack: bool = True,
    package_formats: str | None = None,
    runner: Callable[..., RunOutcome] = run_recipe,
) -> int:
    """Run every recipe, one after another; a recipe that fails, or raises, leaves the others to run.
    Returns the worst exit code (130 when interrupted: the recipes not started are `not run`)."""
    events = events or FleetEvents()
    interrupted = False
    for entry in entries:
        if interrupted:
            entry.not_run("interrupted", None)
            events.recipe_finished(entry)
            continue
        if entry.plan_error is not None:
            entry.not_run(not_run_reason(entry.plan_error), entry.plan_error.exit_code, entry.plan_error.message)
            events.recipe_finished(entry)
            continue
        entry.state = "running"
        steps = StepsSeen(events.recipe_started(entry))
        started = time.monotonic()
        stopped: BaseException | None = None
        try:
            entry.outcome = runner(
                entry.loaded,
                workspace=entry.workspace,
                options=options,
                events=steps,
                pack=pack,
                plan=entry.plan,
                package_formats=package_formats,
            )
            entry.exit_code = entry.outcome.exit_code
        except NavctlError as exc:
            stopped, entry.exit_code, entry.error = exc, exc.exit_code, exc.message
        except KeyboardInterrupt as exc:
            stopped, entry.exit_code, entry.error = exc, EXIT_INTERRUPTED, "interrupted"
        except Exception as exc:  # noqa: BLE001 - one recipe's internal error must not stop the fleet
            stopped, entry.exit_code = exc, EXIT_INTERNAL
            entry.error = f"internal error: {type(exc).__name__}: {exc}"
            traceback.print_exc()
        entry.wall_s = round(time.monotonic() - started, 2)
        entry.state = "done"
        if stopped is not None and not steps.seen:
            entry.not_run(not_run_reason(stopped), entry.exit_code, entry.error)
        interrupted = entry.exit_code == EXIT_INTERRUPTED
        events.recipe_finished(entry)
    return worst_exit([e.exit_code for e in entries if e.exit_code is not None])
