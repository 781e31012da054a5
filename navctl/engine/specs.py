"""Build each planned step's spec.json content from the recipe and what earlier steps learned; the
kind's own options come from its entry in the step-kind table (navctl.plan.kinds)."""

from __future__ import annotations

import json
from pathlib import Path

from navctl.contract.kind_options import SessionOptions
from navctl.contract.step import RESULT_FILE, SPEC_FILE, CallableRef, ModelRef, StepSpec
from navctl.engine.reproduce import write_reproduce
from navctl.engine.workspace import STEPS_DIR
from navctl.plan import registry
from navctl.plan.kind_builders import SpecInputs
from navctl.plan.kinds import SESSION_FUNCTION, kind
from navctl.plan.models import PlannedStep
from navctl.recipe.load import LoadedRecipe
from navctl.status import write_atomic


def _artifact(fmt: str | None) -> str | None:
    if fmt is None or fmt == registry.SOURCE:
        return None
    return registry.FORMATS[fmt].artifact


def build_spec(step: PlannedStep, loaded: LoadedRecipe, threads: int, output_names: list[str]) -> StepSpec:
    recipe = loaded.recipe
    entry = kind(step.kind)
    if entry.build is None:
        raise ValueError(f"step {step.id}: a {step.kind} step runs in the parent and has no spec")
    model_path = str(loaded.resolve(recipe.model.path)) if recipe.model.path else None
    parent_artifact = None
    if entry.reads_parent_artifact and step.format:
        parent_artifact = _artifact(registry.FORMATS[step.format].makers[recipe.framework].parent)
    return StepSpec(
        step_id=step.id,
        kind=step.kind,
        function=step.function or "",
        framework=recipe.framework,
        format=step.format,
        runner=step.runner,
        device=step.device or "cpu",
        recipe_dir=str(loaded.base_dir),
        model=ModelRef(entrypoint=recipe.model.entrypoint, kwargs=recipe.model.kwargs, path=model_path),
        dataloader=CallableRef(entrypoint=recipe.dataloader.factory, kwargs=recipe.dataloader.kwargs)
        if recipe.dataloader
        else None,
        verify=CallableRef(entrypoint=recipe.verify.function, kwargs=recipe.verify.kwargs)
        if recipe.verify and entry.reads_verify
        else None,
        artifact=_artifact(step.format),
        source_artifact=parent_artifact,
        options=entry.build(SpecInputs(step, recipe, output_names)),
        threads=threads,
        seed=recipe.seed,
        memory_limit=recipe.step_memory_limit,
    )


def write_spec(step_id: str, step_dir: Path, spec_data: dict) -> None:
    """The step's spec.json (atomically) and reproduce.sh; an earlier result goes: it answers another spec."""
    write_atomic(step_dir / SPEC_FILE, json.dumps(spec_data, indent=2))
    (step_dir / RESULT_FILE).unlink(missing_ok=True)
    write_reproduce(step_id, step_dir)


def session_spec(
    members: list[PlannedStep], loaded: LoadedRecipe, threads: int, output_names: list[str], session_id: str
) -> StepSpec:
    """The spec of one process that measures several steps of a side-by-side kind (profile) together:
    their own specs (already written under steps/) are its members, the source runner (when among them)
    its reference."""
    keys = [registry.result_key(s.format or "", s.runner or "") for s in members]
    reference = next((k for k in keys if k.startswith(f"{registry.SOURCE}@")), None)
    spec = build_spec(members[0], loaded, threads, output_names)
    return StepSpec.model_validate(
        {
            **spec.model_dump(),
            "step_id": session_id,
            "function": SESSION_FUNCTION,
            "format": None,
            "runner": None,
            "forks_runners": True,
            "options": SessionOptions(
                members=[f"{STEPS_DIR}/{s.id}/{SPEC_FILE}" for s in members],
                reference=reference,
                member_timeout_s=loaded.recipe.step_timeout,
            ),
        }
    )
