"""One core operation, `run_recipe`, shared by the CLI and the Python API."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from navctl.destinations import Unwritable, writing
from navctl.engine.executor import Events, Executor, RunOptions
from navctl.engine.launch import Launcher
from navctl.engine.record import exit_code_for
from navctl.engine.targets import check_destinations, package_path, replacement_note, workspace_path
from navctl.engine.workspace import Workspace
from navctl.errors import EXIT_ENVIRONMENT, EXIT_INTERRUPTED, EXIT_USAGE, EnvironmentProblem, RecipeError
from navctl.package import write_package
from navctl.plan import registry
from navctl.plan.environment import default_threads
from navctl.plan.expand import SAMPLES, expand
from navctl.plan.kinds import kind
from navctl.plan.models import Plan
from navctl.plan.only import check_only
from navctl.recipe.load import LoadedRecipe, load_recipe
from navctl.status import SUCCESS_STATES, Status, write_status


@dataclass
class RunOutcome:
    status: Status
    plan: Plan | None  # None for a recipe run elsewhere (a Ray worker) that this machine cannot plan
    workspace: Path
    package: Path | None
    exit_code: int
    notes: list[str] = field(default_factory=list)


def _check_runnable(plan: Plan) -> None:
    """Exit 4 before anything runs when the source model or every candidate cannot run here."""
    samples = plan.step(SAMPLES)
    if not samples.available:
        raise EnvironmentProblem(
            f"the {plan.framework} source model cannot run on this machine: {samples.reason}",
            hint=None if "pip install" in samples.reason else f"pip install 'navctl[{plan.framework}]'",
        )
    checks = [s for s in plan.steps if kind(s.kind).checks_candidate]
    if checks and not any(s.available for s in checks):
        reasons = sorted({f"{s.runner}: {s.reason}" for s in checks})
        raise EnvironmentProblem(
            "none of the requested formats can run on this machine: " + "; ".join(reasons),
            hint="install the extras named above, or choose targets this machine can run (navctl plan shows them)",
        )


def run_recipe(
    loaded: LoadedRecipe,
    workspace: str | Path | None = None,
    package: str | Path | None = None,
    options: RunOptions | None = None,
    events: Events | None = None,
    pack: bool = True,
    plan: Plan | None = None,
    package_formats: str | None = None,
    launcher_factory: Callable[..., Launcher] | None = None,
) -> RunOutcome:
    # the caller's options stay as given (a fleet passes one RunOptions to every recipe)
    options = options or RunOptions()
    options = dataclasses.replace(
        options,
        threads=options.threads if options.threads > 0 else loaded.recipe.threads or default_threads(),
        jobs=options.jobs if options.jobs > 0 else min(2, default_threads()),
    )
    plan = plan or expand(loaded.recipe)
    ws = Workspace(workspace_path(loaded, workspace))
    target = package_path(loaded, package, workspace)
    check_only(plan, options.only)
    check_destinations(ws.root, target if pack else None, [loaded.path])
    _check_runnable(plan)
    notes: list[str] = []
    ws.acquire()
    try:
        executor = Executor(loaded, plan, ws, options, events, launcher_factory=launcher_factory)
        status = executor.run()
        interrupted = status.run.state == "interrupted"
        targets = list(loaded.recipe.targets)
        code = EXIT_INTERRUPTED if interrupted else exit_code_for(status, targets)
        if executor.recipe_problems:
            code = EXIT_USAGE
        status.run.exit_code = code
        write_status(ws.root, status)
        if executor.recipe_problems:
            raise RecipeError(
                str(loaded.path),
                executor.recipe_problems,
                outcome=f"the run stopped after the samples step (kept in {ws.root} for the rerun)",
            )
        written = None
        if pack and not interrupted:
            if any(s.state in SUCCESS_STATES and s.kind != "select" for s in status.steps.values()):
                formats = None
                if (package_formats or loaded.recipe.package_formats) == "selected":
                    formats = {registry.format_of(k) for k in status.selection.values() if k} - {registry.SOURCE}
                replacing = replacement_note(target, ws.root)
                try:
                    with writing(target, "package"):
                        written = write_package(ws.root, target, formats, _packing_progress(events, target, formats))
                    notes += [replacing] if replacing else []
                except Unwritable as exc:  # the disk filled up or the mount went read-only during the run
                    notes.append(f"no package written: {exc.message}")
                    code = status.run.exit_code = EXIT_ENVIRONMENT
                    write_status(ws.root, status)
            else:
                notes.append(
                    "no package written: no step succeeded in this run"
                    + (f" (kept the earlier {target})" if target.exists() else "")
                )
    finally:
        ws.release()
    return RunOutcome(status=status, plan=plan, workspace=ws.root, package=written, exit_code=code, notes=notes)


def _packing_progress(events: Events | None, target: Path, formats: set[str] | None):
    """A note when packing starts and every few seconds while it runs (big models take minutes)."""
    if events is None:
        return None
    which = f" (formats: {', '.join(sorted(formats)) or 'none'})" if formats is not None else ""
    events.note(f"writing the package {target}{which}")
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 5.0:
            last[0] = now
            events.note(f"  packing: {done / 2**20:,.0f} of {total / 2**20:,.0f} MB")

    return report


def optimize(recipe: str | Path, **overrides: Any) -> RunOutcome:
    """Python API: `navctl.optimize("recipe.yaml", workspace="ws", targets=["onnx"], force=True)`; as with
    `--workspace`, the package is then `ws.nav` beside `ws` unless `package=` names one."""
    run_keys = {"force", "only", "jobs", "threads"}
    run = {k: overrides.pop(k) for k in list(overrides) if k in run_keys}
    workspace = overrides.pop("workspace", None)
    package = overrides.pop("package", None)
    loaded = load_recipe(recipe, overrides=overrides)
    options = RunOptions(
        force=run.get("force", False),
        only=list(run.get("only", [])),
        jobs=run.get("jobs", 0),
        threads=run.get("threads", 0),
    )
    return run_recipe(loaded, workspace=workspace, package=package, options=options)
