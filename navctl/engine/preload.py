"""What the warm worker imports for a run (navctl.engine.worker): the framework and every runtime the plan
runs here at once, the modules its annex imports while the first steps run, and the user's libraries."""

from __future__ import annotations

from pathlib import Path

from navctl.engine.library_imports import library_imports
from navctl.engine.user_files import UserFiles
from navctl.plan import registry
from navctl.plan.models import Plan, PlannedStep


def step_runtimes(step: PlannedStep) -> list[str]:
    """The runtimes a step loads: its runner's, else (a make step) those its format runs on."""
    if step.runner:
        return [registry.split_runner(step.runner)[0]]
    return list(registry.FORMATS[step.format].runtimes) if step.format in registry.FORMATS else []


def annex_steps(plan: Plan) -> set[str]:
    """The steps whose runtimes import something later (the worker's annex): they wait for it."""
    return {s.id for s in plan.steps if any(registry.RUNTIMES[r].preload_later for r in step_runtimes(s))}


def preload(plan: Plan, user_files: UserFiles, base_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """What the warm worker imports once: the framework and every runtime the plan will run here
    (each declares its modules in the registry; TensorFlow alone saves about 4 s per step); what its
    annex imports while the first steps run (`preload_later`); and the other libraries the user's
    files import (Hugging Face's transformers: about 3 s a step)."""
    fw = plan.framework
    runtimes = list(registry.SOURCE_RUNTIMES[fw])
    for step in plan.steps:
        if step.available:
            runtimes += step_runtimes(step)
    now = list(registry.SOURCE_PACKAGES[fw])
    later: list[str] = []
    for runtime in runtimes:
        now += registry.RUNTIMES[runtime].preload
        later += registry.RUNTIMES[runtime].preload_later
    now = list(dict.fromkeys(now))
    later = [m for m in dict.fromkeys(later) if m not in now]
    preloaded = {module.split(".")[0] for module in now + later}
    libraries = library_imports(user_files.python_files(), base_dir, skip=preloaded)
    return now, later, libraries
