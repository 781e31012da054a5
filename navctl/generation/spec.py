"""The parent's side of the generation steps: the options their spec.json carries, and the steps a
plan gains once the samples step has written a decoder into model_io.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from navctl.contract.step import MODEL_IO_FILE, RESULT_FILE
from navctl.engine.workspace import STEPS_DIR
from navctl.generation import plan_ext
from navctl.plan import registry
from navctl.plan.models import Plan, PlannedStep


def options(recipe: Any, step: PlannedStep) -> dict[str, Any]:
    """Settings, tolerance and artifact paths of one generation step."""
    atol, rtol = recipe.correctness.for_output("logits")
    out: dict[str, Any] = {**recipe.generation.model_dump(), "atol": atol, "rtol": rtol}
    fmt = step.format or ""
    if fmt in plan_ext.DECODE_FORMATS:
        decode = plan_ext.DECODE_FORMATS[fmt]
        out["decode_artifact"] = decode.artifact
        out["parent_artifact"] = plan_ext.decode_artifact(decode.parent) if decode.parent else None
        out["precision"] = decode.precision
    if step.id == plan_ext.PROFILE:
        reference = registry.result_key(registry.SOURCE, registry.runner_name("torch", step.device or "cpu"))
        keys = [reference, *plan_ext.members(step.after)]
        out["members"] = {key: plan_ext.decode_artifact(registry.format_of(key)) for key in keys}
        out["reference"] = reference
        out["checks"] = {key: f"{STEPS_DIR}/{plan_ext.CHECK}{key}/{RESULT_FILE}" for key in keys[1:]}
        out["profiling"] = recipe.profiling.model_dump(include={"warmup_s", "stability_pct", "windows"})
    return out


def added_steps(plan: Plan, workspace: Path, recipe: Any) -> list[PlannedStep]:
    """The generation steps to add after the samples step (none for a model that is not a decoder)."""
    if not recipe.generation.enabled:
        return []
    from navctl.contract.tensors import ModelIO

    try:
        io = ModelIO.read(workspace / MODEL_IO_FILE)
    except (OSError, ValueError):
        return []
    if io.decoder is None:
        return []
    return plan_ext.extend(plan, recipe.profiling.enabled)


def learned(plan: Plan, recipe: Any, last_run: Any) -> Plan:
    """`navctl plan` after a run that found a decoder: the plan with the steps a run will add, and a note
    saying why they are there (before any run, only the samples step can tell)."""
    if last_run is None or getattr(last_run, "decoder", None) is None or not recipe.generation.enabled:
        return plan
    steps = plan_ext.extend(plan, recipe.profiling.enabled)
    if steps:
        plan.steps[-1:-1] = steps
        plan.notes.append(f"the last run found a decoder: {len(steps)} generation steps run after the samples step")
    return plan
