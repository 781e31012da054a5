"""What a finished run means: step results into status.yaml's results, and the run's exit code."""

from __future__ import annotations

from navctl.errors import EXIT_FORMATS_FAILED, EXIT_OK
from navctl.plan import registry
from navctl.plan.models import PlannedStep
from navctl.status import (
    SUCCESS_STATES,
    CorrectnessResult,
    ProfileRecord,
    RunnerResult,
    Status,
    TensorMeta,
    VerifyResult,
)
from navctl.steps.contract import StepResult

FAILED_STATES = ("failed", "timeout", "crashed")


def _result_entry(status: Status, step: PlannedStep) -> RunnerResult:
    key = registry.result_key(step.format or "", step.runner or "")
    if key not in status.results:
        status.results[key] = RunnerResult(format=step.format or "", runner=step.runner or "")
    return status.results[key]


def apply_result(status: Status, step: PlannedStep, result: StepResult) -> None:
    """Record a step's metrics where status.yaml keeps them (signature, correctness, verify, profile)."""
    metrics = result.metrics
    if step.kind == "samples":
        status.inputs = [TensorMeta(**t) for t in metrics.get("inputs", [])]
        status.outputs = [TensorMeta(**t) for t in metrics.get("outputs", [])]
    elif step.kind == "correctness" and "correctness" in metrics:
        _result_entry(status, step).correctness = CorrectnessResult(**metrics["correctness"])
    elif step.kind == "verify" and "verify" in metrics:
        _result_entry(status, step).verify = VerifyResult(**metrics["verify"])
    elif step.kind == "profile" and "profile" in metrics:
        entry = _result_entry(status, step)
        entry.profile = [ProfileRecord(**r) for r in metrics["profile"]]
        entry.profile_stopped = metrics.get("profile_stopped", "")
        entry.tuning = metrics.get("tuning", [])
        entry.peak_rss_mb = result.peak_rss_mb
        if step.format == registry.SOURCE:
            entry.correctness = CorrectnessResult(passed=True, problem="the reference")


def exit_code_for(status: Status, targets: list[str] | None = None) -> int:
    """0 when every step that ran succeeded; 1 when any failed, timed out or crashed, except a format
    that could not be made when another member of the target group it came from was (see
    `excused_export_failures`)."""
    excused = excused_export_failures(status, targets or [])
    failed = [k for k, s in status.steps.items() if s.state in FAILED_STATES and k not in excused]
    return EXIT_FORMATS_FAILED if failed else EXIT_OK


def excused_export_failures(status: Status, targets: list[str]) -> dict[str, str]:
    """Export steps that failed (not crashed, not timed out) for a format the recipe asked for only
    through a group (e.g. `torchscript`), while another member of that group was made: a limitation of
    one exporter for this model (torch.jit.script cannot script Hugging Face models), not a wrong result.
    Returns step id -> the group member that was made."""
    excused: dict[str, str] = {}
    for group in targets:
        members = registry.GROUPS.get(group, ())
        made = [m for m in members if _made(status, m)]
        for member in members:
            others = [m for m in made if m != member]
            if member in targets or not others:
                continue  # listed on its own (required), or nothing else of the group was made
            for step_id, record in status.steps.items():
                if record.kind in ("export", "convert") and step_id.endswith(f"/{member}") and record.state == "failed":
                    excused[step_id] = others[0]
    return excused


def _made(status: Status, fmt: str) -> bool:
    return any(
        r.kind in ("export", "convert") and k.endswith(f"/{fmt}") and r.state in SUCCESS_STATES
        for k, r in status.steps.items()
    )
