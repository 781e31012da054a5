"""The step kinds, as data beside the format registry: what each is told (its options model and how the
options are built from the recipe and the plan), what it reports (its metrics model and how they land
in status.yaml), the function its step process runs, and the facts the planner, the scheduler and the
fingerprints read, so the plan and the engine ask the table rather than compare kind names.
docs/architecture.md ("Step kinds") lists what a new kind touches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from navctl.contract import kind_metrics as metrics
from navctl.contract import kind_options as options
from navctl.contract.step import StepResult
from navctl.generation.plan_ext import reads_model
from navctl.plan import kind_appliers as appliers
from navctl.plan import kind_builders as builders
from navctl.plan.models import PlannedStep
from navctl.recipe.models import Recipe
from navctl.status import Status


@dataclass(frozen=True)
class KindDef:
    name: str
    options: type[BaseModel] | None  # None: the kind runs in the parent (select), without a spec
    metrics: type[BaseModel] | None
    function: str | None  # 'module:function' in the step process; None: each format's maker names it
    build: Callable[[builders.SpecInputs], BaseModel] | None = None
    apply: Callable[..., None] | None = None  # (status, step, result, metrics): metrics into status.yaml
    note_record: Callable[..., None] | None = None  # (step record, metrics) of a step that succeeded
    exclusive: bool = False  # runs with nothing alongside (measurement)
    inline: bool = False  # runs inside the parent process (pure, framework-free)
    # whether (for a recipe) the ready steps of this kind share one process (navctl.profiling.interleave)
    side_by_side: Callable[[Recipe], bool] | None = None
    makes: bool = False  # writes the artifact of a format (the registry's makers)
    checks_candidate: bool = False  # judges a candidate: when none can run here, nothing is worth running
    reads_dataloader: bool = False  # calls the recipe's dataloader
    reads_verify: bool = False  # calls the recipe's verify function
    reads_parent_artifact: bool = False  # reads the artifact of the format it is made from
    records_signature: bool = False  # learns the model's inputs and outputs (the recipe's names are checked then)
    # which of its steps build the user's model (None: the format and its maker say; navctl.engine.user_files)
    reads_model: Callable[[PlannedStep], bool] | None = None


def _profiles_together(recipe: Recipe) -> bool:
    return not recipe.profiling.tune  # tuning tries each runner's settings alone, within its budget


def _defs(*defs: KindDef) -> dict[str, KindDef]:
    return {d.name: d for d in defs}


KINDS: dict[str, KindDef] = _defs(
    KindDef(
        "samples",
        options.SamplesOptions,
        metrics.SamplesMetrics,
        "navctl.steps.samples:collect",
        builders.samples_options,
        appliers.apply_samples,
        reads_dataloader=True,
        records_signature=True,
    ),
    KindDef(
        "export",
        options.ExportOptions,
        metrics.ExportMetrics,
        None,
        builders.export_options,
        note_record=appliers.note_maker,
        makes=True,
    ),
    KindDef(
        "convert",
        options.ConvertOptions,
        metrics.ConvertMetrics,
        None,
        builders.convert_options,
        note_record=appliers.note_maker,
        makes=True,
        reads_parent_artifact=True,
    ),
    KindDef(
        "correctness",
        options.CorrectnessOptions,
        metrics.CorrectnessMetrics,
        "navctl.steps.correctness:check",
        builders.correctness_options,
        appliers.apply_correctness,
        checks_candidate=True,
    ),
    KindDef(
        "profile",
        options.ProfileOptions,
        metrics.ProfileMetrics,
        "navctl.steps.profile:measure",
        builders.profile_options,
        appliers.apply_profile,
        exclusive=True,
        side_by_side=_profiles_together,
    ),
    KindDef(
        "verify",
        options.VerifyOptions,
        metrics.VerifyMetrics,
        "navctl.steps.verify:run_verify",
        builders.verify_options,
        appliers.apply_verify,
        reads_verify=True,
    ),
    KindDef("select", None, None, None, inline=True),
    # a decoder's steps, added once the samples step found one (navctl/generation/plan_ext.py names each
    # step's function: decode-step exports, the reference, the checks, the side-by-side measurement)
    KindDef(
        "generation",
        options.GenerationOptions,
        metrics.GenerationMetrics,
        None,
        builders.generation_options,
        appliers.apply_generation,
        note_record=appliers.note_decode_step,
        reads_model=reads_model,
    ),
)
# the process that measures a profiling session's members side by side (engine.sessions)
SESSION_FUNCTION = "navctl.steps.profile:measure_together"


def kind(name: str) -> KindDef:
    """The entry of a kind; an unknown name is a programming error, said plainly."""
    if name not in KINDS:
        raise KeyError(f"unknown step kind '{name}' (known: {', '.join(KINDS)})")
    return KINDS[name]


def apply_metrics(status: Status, step: PlannedStep, result: StepResult) -> None:
    """Record a step's metrics where status.yaml keeps them, as its kind says."""
    entry = kind(step.kind)
    if entry.apply is not None and result.metrics is not None:
        entry.apply(status, step, result, result.metrics)
