"""One core operation, `run_recipe`, shared by the CLI and the Python API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from navctl.engine.executor import Events, Executor, RunOptions, exit_code_for
from navctl.engine.workspace import Workspace
from navctl.errors import EXIT_INTERRUPTED
from navctl.package import write_package
from navctl.plan.environment import default_threads
from navctl.plan.expand import expand
from navctl.plan.models import Plan
from navctl.recipe.load import LoadedRecipe, load_recipe
from navctl.status import Status


@dataclass
class RunOutcome:
    status: Status
    plan: Plan
    workspace: Path
    package: Path | None
    exit_code: int


def workspace_path(loaded: LoadedRecipe, override: str | Path | None) -> Path:
    """--workspace resolves against the current folder; the recipe's value against the recipe's."""
    if override is not None:
        return Path(override).resolve()
    path = Path(loaded.recipe.workspace)
    return path if path.is_absolute() else (loaded.base_dir / path).resolve()


def package_path(loaded: LoadedRecipe, override: str | Path | None) -> Path:
    if override is not None:
        return Path(override).resolve()
    name = loaded.recipe.package or f"{loaded.recipe.name}.nav"
    path = Path(name)
    return path if path.is_absolute() else (loaded.base_dir / path).resolve()


def run_recipe(
    loaded: LoadedRecipe,
    workspace: str | Path | None = None,
    package: str | Path | None = None,
    options: RunOptions | None = None,
    events: Events | None = None,
    pack: bool = True,
) -> RunOutcome:
    options = options or RunOptions()
    if options.threads <= 0:
        options.threads = loaded.recipe.threads or default_threads()
    if options.jobs <= 0:
        options.jobs = min(2, default_threads())
    plan = expand(loaded.recipe)
    ws = Workspace(workspace_path(loaded, workspace))
    target = package_path(loaded, package)
    ws.acquire()
    try:
        status = Executor(loaded, plan, ws, options, events).run()
        interrupted = status.run.state == "interrupted"
        code = EXIT_INTERRUPTED if interrupted else exit_code_for(status)
        written = write_package(ws.root, target) if pack and not interrupted else None
    finally:
        ws.release()
    return RunOutcome(status=status, plan=plan, workspace=ws.root, package=written, exit_code=code)


def optimize(recipe: str | Path, **overrides: Any) -> RunOutcome:
    """Python API: `navctl.optimize("recipe.yaml", workspace="ws", targets=["onnx"], force=True)`."""
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
