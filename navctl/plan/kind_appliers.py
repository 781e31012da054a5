"""Each step kind's metrics, applied where status.yaml keeps them (the table: navctl.plan.kinds)."""

from __future__ import annotations

from navctl.contract.kind_metrics import (
    CorrectnessMetrics,
    GenerationMetrics,
    MakeMetrics,
    ProfileMetrics,
    SamplesMetrics,
    VerifyMetrics,
)
from navctl.contract.step import StepResult
from navctl.generation.record import apply_generation_figures
from navctl.plan import registry
from navctl.plan.models import PlannedStep
from navctl.profiling.machine_load import LOAD_MARK, busy_reason
from navctl.records.results import CorrectnessResult, RunnerResult
from navctl.status import Status, StepRecord


def result_entry(status: Status, step: PlannedStep) -> RunnerResult:
    key = registry.result_key(step.format or "", step.runner or "")
    if key not in status.results:
        status.results[key] = RunnerResult(format=step.format or "", runner=step.runner or "")
    return status.results[key]


def apply_samples(status: Status, step: PlannedStep, result: StepResult, metrics: SamplesMetrics) -> None:
    status.inputs, status.outputs = metrics.inputs, metrics.outputs
    status.batching = metrics.batching
    status.decoder = metrics.decoder


def apply_generation(status: Status, step: PlannedStep, result: StepResult, metrics: GenerationMetrics) -> None:
    apply_generation_figures(status, metrics.generation)
    if metrics.other_cores is not None:
        note_load(status, metrics.cores, metrics.other_cores)


def apply_correctness(status: Status, step: PlannedStep, result: StepResult, metrics: CorrectnessMetrics) -> None:
    if metrics.correctness is not None:
        result_entry(status, step).correctness = metrics.correctness


def apply_verify(status: Status, step: PlannedStep, result: StepResult, metrics: VerifyMetrics) -> None:
    if metrics.verify is not None:
        result_entry(status, step).verify = metrics.verify


def apply_profile(status: Status, step: PlannedStep, result: StepResult, metrics: ProfileMetrics) -> None:
    entry = result_entry(status, step)
    entry.profile = metrics.profile
    entry.profile_shapes = metrics.profile_shapes
    entry.profile_stopped = metrics.profile_stopped
    entry.tuning = metrics.tuning
    entry.peak_rss_mb = result.peak_rss_mb
    if step.format == registry.SOURCE:
        entry.correctness = CorrectnessResult(passed=True, problem="the reference")
    if metrics.other_cores is not None:
        note_load(status, metrics.cores, metrics.other_cores)


def note_load(status: Status, cores: int | None, other_cores: float) -> None:
    """A measurement outside the profiling session (a runner profiled alone: profiling.tune, or the one
    runner left; a decoder's generation rounds) counts other processes' load itself, reused or fresh:
    the run's busiest such figure, and its verdict, join status.profiling."""
    status._noted_loads.append((cores, other_cores))
    fold_loads(status)


def fold_loads(status: Status) -> None:
    """Put this run's busiest noted load into status.profiling, unless the session's was busier (again
    after the session's figures replace it)."""
    if not status._noted_loads:
        return
    cores, other_cores = max(status._noted_loads, key=lambda load: load[1])
    info = status.profiling
    if info.other_cores is not None and other_cores <= info.other_cores:
        return
    info.cores, info.other_cores = cores, other_cores
    reasons = [r for r in info.unreliable.split("; ") if r and not r.startswith(LOAD_MARK)]
    reasons.append(busy_reason(cores or 1, other_cores))
    info.unreliable = "; ".join(filter(None, reasons))


def note_decode_step(record: StepRecord, metrics: GenerationMetrics) -> None:
    """A decode-step export's step record, as a format's: which exporter made it and what it warned."""
    if metrics.exporter is not None:
        record.made_by, record.warnings = metrics.exporter, metrics.warnings


def note_maker(record: StepRecord, metrics: MakeMetrics) -> None:
    """A made file's step record: which exporter made it, what it warned, which samples calibrated it."""
    record.made_by = metrics.exporter
    record.warnings = metrics.warnings
    if metrics.calibration is not None:
        record.calibration = metrics.calibration
