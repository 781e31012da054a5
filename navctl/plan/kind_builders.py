"""Each step kind's options, built from the recipe and the planned step (the table: navctl.plan.kinds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from navctl.contract.kind_options import (
    Calibration,
    ConvertOptions,
    CorrectnessOptions,
    ExportOptions,
    Gate,
    GenerationOptions,
    ProfileOptions,
    SamplesOptions,
    Tolerance,
    VerifyOptions,
)
from navctl.contract.step import CORRECTNESS_OUTPUTS
from navctl.plan import registry
from navctl.plan.models import PlannedStep
from navctl.recipe.models import Recipe


@dataclass(frozen=True)
class SpecInputs:
    """What a kind's options are built from."""

    step: PlannedStep
    recipe: Recipe
    output_names: list[str]  # the source's outputs, once the samples step has recorded them

    @property
    def runner(self) -> dict[str, Any]:
        """The recipe section of the step's runtime, given to every kind that runs one."""
        if self.step.runner is None:
            return {}
        runtime, _ = registry.split_runner(self.step.runner)
        return section(self.recipe, registry.RUNTIMES[runtime].options)


def section(recipe: Recipe, name: str | None) -> dict[str, Any]:
    """The recipe section a registry entry names (e.g. `onnxruntime`), as plain data."""
    return getattr(recipe, name).model_dump() if name else {}


def samples_options(given: SpecInputs) -> SamplesOptions:
    recipe = given.recipe
    correctness = recipe.correctness
    return SamplesOptions(
        runner=given.runner,
        batching=recipe.batching.enabled,
        batch_axis=recipe.batching.batch_axis,
        input_names=[t.name for t in recipe.inputs] if recipe.inputs else None,
        output_names=[t.name for t in recipe.outputs] if recipe.outputs else None,
        input_dynamic_axes={t.name: t.dynamic_axes for t in recipe.inputs or [] if t.dynamic_axes},
        # the batch probe holds merged and separate answers to the recipe's own tolerance
        probe_tolerance=Tolerance(
            atol=correctness.atol,
            rtol=correctness.rtol,
            outputs={name: list(correctness.for_output(name)) for name in correctness.outputs},
        ),
        input_axes={
            t.name: {a: b.model_dump(exclude_none=True) for a, b in t.axes.items()}
            for t in recipe.inputs or []
            if t.axes
        },
        max_batch_size=recipe.batching.max_batch_size,
        # a decoder's cache, where the recipe names it (set only then: other specs stay as they were)
        **({"cache_outputs": recipe.generation.cache_outputs} if recipe.generation.cache_outputs else {}),
    )


def _make_options(given: SpecInputs) -> dict[str, Any]:
    recipe = given.recipe
    fmt = registry.FORMATS[given.step.format or ""]
    options: dict[str, Any] = {"runner": given.runner, **section(recipe, fmt.options), "precision": fmt.precision}
    if options.get("max_batch_size") is None:  # a section's own max_batch_size (tensorrt) wins
        options["max_batch_size"] = recipe.batching.max_batch_size
    if fmt.calibrated:
        calibration = recipe.quantization.calibration
        options["calibration"] = Calibration(
            factory=calibration.factory if calibration else None,
            kwargs=calibration.kwargs if calibration else {},
            samples=recipe.quantization.samples,
        )
    return options


def export_options(given: SpecInputs) -> ExportOptions:
    return ExportOptions(**_make_options(given))


def convert_options(given: SpecInputs) -> ConvertOptions:
    return ConvertOptions(**_make_options(given))


def gate(given: SpecInputs) -> Gate | None:
    """What a reduced-precision candidate must keep of the source's outputs (None at full precision)."""
    recipe, step = given.recipe, given.step
    sections = {rt.options: section(recipe, rt.options) for rt in registry.RUNTIMES.values() if rt.precision_option}
    precision = registry.candidate_precision(step.format or "", step.runner or "", sections)
    if not registry.is_reduced(precision):
        return None
    fmt = step.format or ""
    limits = recipe.correctness.gate(fmt)
    tolerances = {name: recipe.correctness.gate_for_output(fmt, name) for name in given.output_names}
    elementwise = "atol/rtol per output, " if any(t is not None for t in tolerances.values()) else ""
    return Gate(
        precision=precision,
        tolerances={name: list(t) if t is not None else None for name, t in tolerances.items()},
        min_cosine=limits.min_cosine,
        min_top1=limits.min_top1,
        # without a calibration factory, calibration took the first half of the samples: check the rest
        split=recipe.quantization.calibration is None,
        describe=f"{elementwise}cosine >= {limits.min_cosine:g}, top-1 agreement >= {limits.min_top1:.0%}",
    )


def correctness_options(given: SpecInputs) -> CorrectnessOptions:
    recipe = given.recipe
    return CorrectnessOptions(
        runner=given.runner,
        tolerances={name: list(recipe.correctness.for_output(name)) for name in given.output_names},
        keep_outputs=recipe.verify is not None,  # the verify step reads them
        gate=gate(given),
        padding_mask=recipe.correctness.padding_mask,
    )


def verify_options(given: SpecInputs) -> VerifyOptions:
    key = registry.result_key(given.step.format or "", given.step.runner or "")
    return VerifyOptions(
        runner=given.runner, outputs_dir=f"steps/correctness/{key}/{CORRECTNESS_OUTPUTS}", gate=gate(given)
    )


def profile_options(given: SpecInputs) -> ProfileOptions:
    recipe = given.recipe
    return ProfileOptions(
        runner=given.runner,
        **recipe.profiling.model_dump(exclude={"enabled"}),
        max_batch_size=recipe.batching.max_batch_size,
        selection_shape=recipe.selection.shape,
    )


def generation_options(given: SpecInputs) -> GenerationOptions:
    from navctl.generation.spec import options

    return GenerationOptions(**options(given.recipe, given.step))
