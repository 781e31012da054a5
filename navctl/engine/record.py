"""status.yaml's records: a run's first status, each step's end as a record, step results into the
results, and the run's exit code."""

from __future__ import annotations

import datetime as dt
import os
import platform
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from navctl import __version__
from navctl.contract.step import StepResult
from navctl.errors import EXIT_FORMATS_FAILED, EXIT_OK, UsageError
from navctl.plan import registry
from navctl.plan.environment import cpu_name, gpu_names
from navctl.plan.kinds import apply_metrics, kind
from navctl.plan.models import Plan, PlannedStep
from navctl.profiling.selection import behind_source, best_by_batch_size, close_calls, select
from navctl.recipe.load import LoadedRecipe
from navctl.recipe.models import Recipe
from navctl.status import (
    EXCUSED_MARK,
    SUCCESS_STATES,
    EnvironmentInfo,
    RecipeInfo,
    RunInfo,
    Status,
    StepRecord,
    ToolInfo,
    read_status,
)

FAILED_STATES = ("failed", "timeout", "crashed")


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def new_status(
    loaded: LoadedRecipe, plan: Plan, workspace: Path, threads: int, versions: dict[str, str], previous: Status | None
) -> Status:
    """A run's status before any step ran: every step pending or unavailable, and the signature and
    session figures of the previous run kept until this run replaces them."""
    status = Status(
        tool=ToolInfo(version=__version__),
        recipe=RecipeInfo(path=os.path.relpath(loaded.path, workspace), sha256=loaded.sha256, name=loaded.recipe.name),
        environment=EnvironmentInfo(
            python=platform.python_version(),
            platform=platform.platform(),
            cpu=cpu_name(),
            gpu=gpu_names(),
            threads=threads,
            packages=versions,
        ),
        run=RunInfo(started_at=now_utc(), device=plan.device),
    )
    for step in plan.steps:
        if step.available:
            status.steps[step.id] = StepRecord(kind=step.kind, state="pending")
        else:
            status.steps[step.id] = StepRecord(kind=step.kind, state="unavailable", reason=step.reason)
    if previous is not None:
        status.inputs, status.outputs = previous.inputs, previous.outputs
        status.batching = previous.batching
        status.profiling = previous.profiling  # replaced when profiling runs again
    return status


def previous_status(workspace: Path, note: Callable[[str], None]) -> Status | None:
    """The workspace's status.yaml from an earlier run, if any (one it cannot read: every step reruns)."""
    if not (workspace / "status.yaml").exists():
        return None
    try:
        return read_status(workspace)
    except UsageError as exc:
        note(f"{exc.message}; every step reruns")
        return None


def carry_over(status: Status, previous: Status, step: PlannedStep) -> None:
    """Keep a step's earlier record (and its results) when --only leaves it out."""
    status.steps[step.id] = previous.steps[step.id]
    key = registry.result_key(step.format or "", step.runner or "")
    if key in previous.results:
        status.results[key] = previous.results[key]


@dataclass
class StepEnd:
    """How a step process ended, as the executor saw it."""

    code: int
    duration_s: float
    timed_out: bool
    timeout_s: float
    interrupted: bool


def step_record(
    step: PlannedStep, result: StepResult | None, end: StepEnd, *, log: Path, rel_log: str, fingerprint: str
) -> StepRecord:
    """The status record of a step that ran: its result when it wrote one, else what its exit says."""
    record = StepRecord(kind=step.kind, state="failed", duration_s=end.duration_s, log=rel_log, fingerprint=fingerprint)
    if result is not None and result.state == "ok":
        record.state = "ok"
        record.artifacts = result.artifacts
        record.reason = result.message
        note = kind(step.kind).note_record
        if note is not None and result.metrics is not None:
            note(record, result.metrics)
    elif end.timed_out:
        record.state = "timeout"
        record.reason = f"no result after {end.timeout_s:g}s (step_timeout); log: {rel_log}"
    elif end.interrupted and result is None:
        record.state = "pending"
        record.reason = "interrupted; rerun to resume"
    elif end.code < 0 and result is None:
        code = -end.code
        name = signal.Signals(code).name if code in signal.Signals._value2member_map_ else f"signal {code}"
        record.state = "crashed"
        record.reason = f"{name}{_last_line_hint(log)}; log: {rel_log}"
    elif result is None:
        record.reason = f"exited with code {end.code} without a result{_last_line_hint(log)}; log: {rel_log}"
    elif result.state in ("unavailable", "rejected"):
        record.state = result.state
        record.reason = result.message
    else:
        where = f" ({result.error.where})" if result.error and result.error.where else ""
        record.reason = f"{result.message}{where}; log: {rel_log}"
    if result is not None:
        record.peak_rss_mb, record.cuda_peak_mb = result.peak_rss_mb, result.cuda_peak_mb
    return record


def _last_line_hint(log: Path) -> str:
    """The last meaningful line a crashed step printed (e.g. 'Fatal Python error: Segmentation fault')."""
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    for line in lines:
        if line.startswith("Fatal Python error"):
            return f" ({line})"
    return ""


def apply_result(status: Status, step: PlannedStep, result: StepResult) -> None:
    """Record a step's metrics where status.yaml keeps them, as its kind's entry says (navctl.plan.kinds)."""
    apply_metrics(status, step, result)


def apply_selection(status: Status, recipe: Recipe) -> None:
    """The select step: every result in the workspace (fresh, cached or carried over) ranked by strategy."""
    verify = recipe.verify is not None
    status.selection = select(status.results, recipe.selection, verify)
    floor = recipe.profiling.throughput_gain_pct
    status.selection_close = close_calls(status.results, recipe.selection, verify, status.selection, floor)
    status.selection_behind_source = behind_source(status.results, recipe.selection, status.selection, floor)
    status.best_by_batch_size = best_by_batch_size(status.results, verify)


def exit_code_for(status: Status, targets: list[str] | None = None) -> int:
    """0 when every step that ran succeeded; 1 when any failed, timed out or crashed, except a format
    that could not be made when another member of the target group it came from was (see
    `excused_export_failures`). Excused failures say so in their reason, where every report shows it."""
    excused = excused_export_failures(status, targets or [])
    for step_id, made in excused.items():
        record = status.steps[step_id]
        if EXCUSED_MARK not in record.reason:
            fmt = registry.step_subject(step_id)
            record.reason += (
                f" ({EXCUSED_MARK}: {made} was made for the same target group; list {fmt} "
                "in targets on its own to require it)"
            )
    failed = [k for k, s in status.steps.items() if s.state in FAILED_STATES and k not in excused]
    return EXIT_FORMATS_FAILED if failed else EXIT_OK


def excused_export_failures(status: Status, targets: list[str]) -> dict[str, str]:
    """Export steps that failed (not crashed, not timed out) for a format the recipe asked for only
    through a group (e.g. `torchscript`), while another member of that group was made: a limitation of
    one exporter for this model (torch.jit.script cannot script Hugging Face models), not a wrong result.
    Returns step id -> the group member that was made."""
    made_formats: set[str] = set()
    failed_by_format: dict[str, list[str]] = {}
    for step_id, record in status.steps.items():
        if not kind(record.kind).makes:
            continue
        fmt = registry.step_subject(step_id)
        if record.state in SUCCESS_STATES:
            made_formats.add(fmt)
        elif record.state == "failed":
            failed_by_format.setdefault(fmt, []).append(step_id)
    excused: dict[str, str] = {}
    for group in targets:
        members = registry.GROUPS.get(group, ())
        made = [m for m in members if m in made_formats]
        for member in members:
            others = [m for m in made if m != member]
            if member in targets or not others:
                continue  # listed on its own (required), or nothing else of the group was made
            for step_id in failed_by_format.get(member, []):
                excused[step_id] = others[0]
    return excused


def input_hashes(step: PlannedStep, status: Status) -> list[str]:
    """What a step's fingerprint takes from the steps before it: its dependencies' artifacts, and how each
    step it only waits for ended (`after`: which of them passed decides what it does)."""
    artifacts = [a.sha256 for d in step.deps for a in status.steps[d].artifacts]
    return artifacts + [f"{d}={status.steps[d].state}" for d in step.after]
