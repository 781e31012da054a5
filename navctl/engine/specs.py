"""Build each planned step's spec.json content from the recipe and what earlier steps learned."""

from __future__ import annotations

from typing import Any

from navctl.contract.step import CORRECTNESS_OUTPUTS, SPEC_FILE, CallableRef, ModelRef, StepSpec
from navctl.engine.workspace import STEPS_DIR
from navctl.generation import spec as generation_spec
from navctl.plan import registry
from navctl.plan.models import PlannedStep
from navctl.recipe.load import LoadedRecipe


def _artifact(fmt: str | None) -> str | None:
    if fmt is None or fmt == registry.SOURCE:
        return None
    return registry.FORMATS[fmt].artifact


def _section(recipe, name: str | None) -> dict[str, Any]:
    """The recipe section a registry entry names (e.g. `onnxruntime`), as plain data."""
    return getattr(recipe, name).model_dump() if name else {}


def _runner_options(recipe, runner: str | None) -> dict[str, Any]:
    if runner is None:
        return {}
    runtime, _ = registry.split_runner(runner)
    return _section(recipe, registry.RUNTIMES[runtime].options)


def _gate(recipe, step: PlannedStep, output_names: list[str]) -> dict[str, Any] | None:
    """What a reduced-precision candidate must keep of the source's outputs (None at full precision)."""
    sections = {rt.options: _section(recipe, rt.options) for rt in registry.RUNTIMES.values() if rt.precision_option}
    precision = registry.candidate_precision(step.format or "", step.runner or "", sections)
    if not registry.is_reduced(precision):
        return None
    fmt = step.format or ""
    gate = recipe.correctness.gate(fmt)
    tolerances = {name: recipe.correctness.gate_for_output(fmt, name) for name in output_names}
    elementwise = "atol/rtol per output, " if any(t is not None for t in tolerances.values()) else ""
    return {
        "precision": precision,
        "tolerances": {name: list(t) if t is not None else None for name, t in tolerances.items()},
        "min_cosine": gate.min_cosine,
        "min_top1": gate.min_top1,
        # without a calibration factory, calibration took the first half of the samples: check the rest
        "split": recipe.quantization.calibration is None,
        "describe": f"{elementwise}cosine >= {gate.min_cosine:g}, top-1 agreement >= {gate.min_top1:.0%}",
    }


def build_spec(step: PlannedStep, loaded: LoadedRecipe, threads: int, output_names: list[str]) -> StepSpec:
    recipe = loaded.recipe
    base = loaded.base_dir
    model_path = None
    if recipe.model.path:
        model_path = str(loaded.resolve(recipe.model.path))
    options: dict[str, Any] = {"runner": _runner_options(recipe, step.runner)}
    if step.kind == "samples":
        options.update(
            batching=recipe.batching.enabled,
            batch_axis=recipe.batching.batch_axis,
            input_names=[t.name for t in recipe.inputs] if recipe.inputs else None,
            output_names=[t.name for t in recipe.outputs] if recipe.outputs else None,
            input_dynamic_axes={t.name: t.dynamic_axes for t in recipe.inputs or [] if t.dynamic_axes},
            # the batch probe holds merged and separate answers to the recipe's own tolerance
            probe_tolerance={
                "atol": recipe.correctness.atol,
                "rtol": recipe.correctness.rtol,
                "outputs": {name: list(recipe.correctness.for_output(name)) for name in recipe.correctness.outputs},
            },
            input_axes={
                t.name: {a: b.model_dump(exclude_none=True) for a, b in t.axes.items()}
                for t in recipe.inputs or []
                if t.axes
            },
            max_batch_size=recipe.batching.max_batch_size,
        )
        if recipe.generation.cache_outputs:  # a decoder's cache, where the recipe names it
            options["cache_outputs"] = recipe.generation.cache_outputs
    elif step.kind in ("export", "convert") and step.format:
        fmt = registry.FORMATS[step.format]
        options.update(_section(recipe, fmt.options), precision=fmt.precision)
        if options.get("max_batch_size") is None:  # a section's own max_batch_size (tensorrt) wins
            options["max_batch_size"] = recipe.batching.max_batch_size
        if fmt.calibrated:
            calibration = recipe.quantization.calibration
            options["calibration"] = {
                "factory": calibration.factory if calibration else None,
                "kwargs": calibration.kwargs if calibration else {},
                "samples": recipe.quantization.samples,
            }
    elif step.kind == "correctness":
        options["tolerances"] = {name: list(recipe.correctness.for_output(name)) for name in output_names}
        options["keep_outputs"] = recipe.verify is not None  # the verify step reads them
        options["gate"] = _gate(recipe, step, output_names)
    elif step.kind == "verify":
        key = registry.result_key(step.format or "", step.runner or "")
        options["outputs_dir"] = f"steps/correctness/{key}/{CORRECTNESS_OUTPUTS}"
        options["gate"] = _gate(recipe, step, output_names)
    elif step.kind == "profile":
        options.update(
            recipe.profiling.model_dump(exclude={"enabled"}),
            max_batch_size=recipe.batching.max_batch_size,
            selection_shape=recipe.selection.shape,
        )
    elif step.kind == "generation":
        options.update(generation_spec.options(recipe, step))
    parent_artifact = None
    if step.kind == "convert" and step.format:
        parent = registry.FORMATS[step.format].makers[recipe.framework].parent
        parent_artifact = _artifact(parent)
    return StepSpec(
        step_id=step.id,
        kind=step.kind,
        function=step.function or "",
        framework=recipe.framework,
        format=step.format,
        runner=step.runner,
        device=step.device or "cpu",
        recipe_dir=str(base),
        model=ModelRef(entrypoint=recipe.model.entrypoint, kwargs=recipe.model.kwargs, path=model_path),
        dataloader=CallableRef(entrypoint=recipe.dataloader.factory, kwargs=recipe.dataloader.kwargs)
        if recipe.dataloader
        else None,
        verify=CallableRef(entrypoint=recipe.verify.function, kwargs=recipe.verify.kwargs)
        if recipe.verify and step.kind == "verify"
        else None,
        artifact=_artifact(step.format),
        source_artifact=parent_artifact,
        options=options,
        threads=threads,
        seed=recipe.seed,
        memory_limit=recipe.step_memory_limit,
    )


def session_spec(
    members: list[PlannedStep], loaded: LoadedRecipe, threads: int, output_names: list[str], session_id: str
) -> StepSpec:
    """The spec of one process that measures several profile steps side by side: their own specs
    (already written under steps/) are its members, the source runner (when among them) its reference."""
    keys = [registry.result_key(s.format or "", s.runner or "") for s in members]
    reference = next((k for k in keys if k.startswith(f"{registry.SOURCE}@")), None)
    spec = build_spec(members[0], loaded, threads, output_names)
    return spec.model_copy(
        update={
            "step_id": session_id,
            "function": "navctl.steps.profile:measure_together",
            "format": None,
            "runner": None,
            "forks_runners": True,
            "options": {"members": [f"{STEPS_DIR}/{s.id}/{SPEC_FILE}" for s in members], "reference": reference},
        }
    )
