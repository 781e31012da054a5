"""Steps of a side-by-side kind (profile) measured together in one process: which join a session, its
spec, and what the session itself reports (navctl.profiling.interleave does the measuring)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from navctl.contract.kind_metrics import SessionMetrics
from navctl.contract.step import RESULT_FILE, SPEC_FILE
from navctl.engine.cache import read_result
from navctl.engine.launch import Launcher
from navctl.engine.running import Running
from navctl.engine.specs import session_spec
from navctl.engine.workspace import STEPS_DIR, Workspace
from navctl.plan.kind_appliers import fold_loads
from navctl.plan.kinds import kind
from navctl.plan.models import PlannedStep
from navctl.recipe.load import LoadedRecipe
from navctl.records.results import ProfilingInfo
from navctl.status import Status, write_atomic

SESSION_ID = "profile/side-by-side"  # the folder of a profiling session under steps/


def shares_session(step: PlannedStep, loaded: LoadedRecipe) -> bool:
    """Whether the step is measured side by side with the other ready steps of its kind."""
    together = kind(step.kind).side_by_side
    return together is not None and together(loaded.recipe)


def session_members(
    step: PlannedStep, pending: list[PlannedStep], can_start: Callable[[PlannedStep], bool]
) -> list[PlannedStep]:
    """The step and every pending step of its kind on its device that can start now."""
    return [step] + [s for s in pending if s.kind == step.kind and s.device == step.device and can_start(s)]


def session_dir(ws: Workspace) -> Path:
    return ws.root / STEPS_DIR / SESSION_ID


def session_log(ws: Workspace) -> Path:
    return session_dir(ws) / "profile.log"


def write_session(
    ws: Workspace, members: list[PlannedStep], loaded: LoadedRecipe, threads: int, output_names: list[str]
) -> Path:
    """Write the session's spec.json (its members' own are already written); returns its path."""
    folder = session_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    spec = session_spec(members, loaded, threads, output_names, SESSION_ID)
    write_atomic(folder / SPEC_FILE, spec.model_dump_json(indent=2))
    (folder / RESULT_FILE).unlink(missing_ok=True)
    return folder / SPEC_FILE


def start_session(
    ws: Workspace, spec: Path, members: list[tuple[PlannedStep, str]], launcher: Launcher, later: bool, timeout: float
) -> Running:
    """Launch the session's process; its deadline is its members' step timeouts together."""
    handle = launcher.start(spec, session_log(ws), ws.root, later=later)
    now = time.monotonic()
    first, fp = members[0]
    return Running(first, handle, now, fp, now + timeout * len(members), members=members)


def session_figures(ws: Workspace) -> ProfilingInfo | None:
    """How the session measured (status.yaml's `profiling`), when it got that far."""
    result = read_result(session_dir(ws), "profile")
    return result.metrics.session if result is not None and isinstance(result.metrics, SessionMetrics) else None


def collect_figures(ws: Workspace, status: Status) -> None:
    """The finished session's figures into status.profiling, with the load a tuned runner or the
    generation rounds noted before it folded in again."""
    figures = session_figures(ws)
    if figures is not None:
        status.profiling = figures
        fold_loads(status)


def carried_figures(ws: Workspace, carried: ProfilingInfo) -> ProfilingInfo:
    """The previous run's profiling figures, without the loads that steps outside the session folded in
    (each notes its own again as it runs or is reused): the session's own, or nothing."""
    if not carried.interleaved:
        return ProfilingInfo()
    return session_figures(ws) or carried
