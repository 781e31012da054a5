"""Run a plan: schedule steps, launch them, enforce timeouts, reuse cached results, record status.

The parent never imports a framework. After every step, status.yaml is rewritten atomically, so
killing this process at any moment leaves a valid status that a rerun resumes from.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from navctl.contract.step import SPEC_FILE
from navctl.engine import sessions
from navctl.engine.cache import StepCache, read_result
from navctl.engine.launch import Launcher, make_launcher
from navctl.engine.plan_growth import grow
from navctl.engine.preload import preload
from navctl.engine.record import (
    apply_result,
    apply_selection,
    carry_over,
    input_hashes,
    new_status,
    now_utc,
    previous_status,
    step_record,
)
from navctl.engine.run_options import Events, RunOptions
from navctl.engine.running import Running, RunningSteps
from navctl.engine.scheduling import Scheduler
from navctl.engine.signature_checks import recipe_problems
from navctl.engine.specs import build_spec, write_spec
from navctl.engine.user_files import step_roles, user_files
from navctl.engine.workspace import LOG_FILE, Workspace
from navctl.errors import RecipeProblem
from navctl.plan.environment import package_versions
from navctl.plan.expand import SELECT
from navctl.plan.fingerprint import fingerprint
from navctl.plan.kinds import kind
from navctl.plan.models import Plan, PlannedStep
from navctl.plan.only import left_out, selected_steps
from navctl.recipe.load import LoadedRecipe
from navctl.status import SUCCESS_STATES, Status, StepRecord, UserFileRecord, write_status

INTERRUPT_GRACE_S = 5.0  # how long running steps may take to finish after a first Ctrl-C
POLL_S = 0.005


class Executor:
    def __init__(
        self,
        loaded: LoadedRecipe,
        plan: Plan,
        workspace: Workspace,
        options: RunOptions,
        events: Events | None = None,
        launcher_factory: Callable[..., Launcher] | None = None,
    ) -> None:
        self.launcher_factory = launcher_factory  # tests pass a fake; default: the warm worker
        self._launcher: Launcher | None = None
        self.loaded = loaded
        self.recipe = loaded.recipe
        self.plan = plan
        self.ws = workspace
        self.options = options
        self.events = events or Events()
        self.versions = package_versions()
        self.user_files = user_files(loaded)  # once per run: each step hashes those it reads
        # what the annex imports, and so every runner process that loads an artifact (specs carry it)
        self.libraries: list[str] = []
        self.previous = previous_status(workspace.root, self.events.note)
        self.cache = StepCache(self.previous, workspace, options.force, self.events.note)
        self.status = new_status(loaded, plan, workspace.root, options.threads, self.versions, self.previous)
        self.status.profiling = sessions.carried_figures(workspace, self.status.profiling)
        self.status.user_files = [UserFileRecord(**record) for record in self.user_files.records()]
        self.interrupts = 0
        self.carried: set[str] = set()  # steps --only left out, whose earlier records are kept
        self.recipe_problems: list[RecipeProblem] = []  # found once the samples step knows the names
        self.scheduler = Scheduler(plan, lambda step_id: self.status.steps[step_id].state)
        self._interrupt_noted = False
        # when each step began, for the report's timeline (status records it as seconds after this start)
        self._clock_start = time.monotonic()
        self._began: dict[str, float] = {}
        self._added: list[PlannedStep] = []  # steps the plan gained while running, not yet scheduled
        self._log = open(self.ws.root / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed in run()

    # ----- status -------------------------------------------------------------------------------
    def _write(self) -> None:
        write_status(self.ws.root, self.status)

    def log(self, message: str) -> None:
        self._log.write(f"{now_utc()} {message}\n")
        self._log.flush()

    # ----- main loop ----------------------------------------------------------------------------
    def run(self) -> Status:
        launcher = None
        old_int = signal.signal(signal.SIGINT, self._on_interrupt)
        old_term = signal.signal(signal.SIGTERM, self._on_interrupt)
        try:
            selected = self._selected_steps()
            now, later, self.libraries = preload(self.plan, self.user_files, self.loaded.base_dir)
            factory = self.launcher_factory or make_launcher
            launcher = self._launcher = factory(now, stderr=self._log, later=later, libraries=self.libraries)
            runnable = sum(1 for s in self.plan.steps if s.available and (s.id in selected or s.inline))
            self.events.note(f"starting the step worker ({self.recipe.framework} imports) and {runnable} steps")
            self.log(f"run started: recipe {self.loaded.path}, {len(selected)} steps, jobs {self.options.jobs}")
            self._write()
            for step in self.plan.steps:
                if not step.available or step.id in self.carried:
                    self.events.finished(step, self.status.steps[step.id])
            self._loop([s for s in self.plan.steps if s.id in selected and s.available and not s.inline], launcher)
            if not self.interrupts:
                # Selection looks at every result in the workspace, fresh, cached or carried over from
                # an earlier run (--only), so a partial run never wipes it.
                self._run_select(self.plan.step(SELECT))
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
            if launcher is not None:
                launcher.close()
                self.status.run.finished_at = now_utc()
                self.status.run.state = "interrupted" if self.interrupts else "finished"
                self._write()
                self.log(f"run {self.status.run.state}")
            self._log.close()
        return self.status

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        self.interrupts += 1

    def _selected_steps(self) -> set[str]:
        chosen = selected_steps(self.plan, self.options.only)
        if self.previous is not None:
            for step_id in left_out(self.plan, chosen, set(self.previous.steps)):
                carry_over(self.status, self.previous, self.plan.step(step_id))
                self.carried.add(step_id)
        return chosen

    def _loop(self, steps: list[PlannedStep], launcher) -> None:
        pending = list(steps)
        running = RunningSteps(launcher, self.log)
        while pending or running or self._added:
            pending, self._added = pending + self._added, []  # steps a decoder's samples step added
            if self.recipe_problems:
                where = self.recipe_problems[0].field or "content"
                for step in pending:
                    reason = f"stopped: a problem with the recipe's {where} (shown at the end)"
                    self._finish(step, StepRecord(kind=step.kind, state="skipped", reason=reason))
                pending.clear()
            if self.interrupts:
                self._interrupt(running, pending)
                if not running:
                    break
            else:
                self._schedule(pending, running, launcher)
            now = time.monotonic()
            for run, code in running.exited(now):
                self._collect(run, code, now - run.started)
            if running or pending:  # pending with nothing running: waiting for the worker's annex
                time.sleep(POLL_S)

    def _schedule(self, pending: list[PlannedStep], running: RunningSteps, launcher) -> None:
        # While the worker's annex imports, it is the longest wait of the run (the steps behind it are
        # the slowest chain): it keeps a core of its own, and the other steps share the rest.
        jobs = max(1, self.options.jobs - (0 if launcher.ready(True) else 1))
        while not any(r.step.exclusive for r in running.values()) and len(running) < jobs:
            step = self.scheduler.next(pending, running, launcher)
            if step is None:
                return
            pending.remove(step)
            bad = self.scheduler.failed_dep(step)
            if bad is not None:
                reason = f"{bad} {self.status.steps[bad].state}"
                self._finish(step, StepRecord(kind=step.kind, state="skipped", reason=reason))
                continue
            if sessions.shares_session(step, self.loaded):
                # Nothing else runs now: every step of its kind that can run is measured side by side.
                together = sessions.session_members(step, pending, self.scheduler.can_start)
                for member in together[1:]:
                    pending.remove(member)
                self._start_session(together, running, launcher)
                continue
            self._start(step, running, launcher)

    # ----- one step -----------------------------------------------------------------------------
    def _output_names(self) -> list[str]:
        return [t.name for t in self.status.outputs]

    def _prepare(self, step: PlannedStep) -> str | None:
        """Write the step's spec.json and reproduce.sh; None when the cached result was reused instead."""
        step_dir = self.ws.step_dir(step.id)
        step_dir.mkdir(parents=True, exist_ok=True)
        spec = build_spec(step, self.loaded, self.options.threads, self._output_names())
        spec.libraries = self.libraries
        spec_data = spec.model_dump(mode="json")
        user_hashes = self.user_files.hashes(step_roles(step, self.recipe))
        fp = fingerprint(spec_data, input_hashes(step, self.status), user_hashes, self.versions)
        cached = self.cache.lookup(step, fp)
        if cached is not None:
            apply_result(self.status, step, cached[1])
            self._finish(step, cached[0])
            return None
        write_spec(step.id, step_dir, spec_data)
        return fp

    def _start(self, step: PlannedStep, running: RunningSteps, launcher) -> None:
        fp = self._prepare(step)
        if fp is not None:
            self._launch(step, fp, running, launcher)

    def _launch(self, step: PlannedStep, fp: str, running: RunningSteps, launcher) -> None:
        step_dir = self.ws.step_dir(step.id)
        log, later = step_dir / f"{step.kind}.log", self.scheduler.needs_later([step])
        handle = launcher.start(step_dir / SPEC_FILE, log, self.ws.root, later, self.options.step_env(step))
        now = time.monotonic()
        running[step.id] = Running(step, handle, now, fp, now + self.recipe.step_timeout)
        self._mark_running(step, log, fp, handle.pid)

    def _mark_running(self, step: PlannedStep, log: Path, fp: str, pid: int) -> None:
        self.status.steps[step.id] = StepRecord(
            kind=step.kind, state="running", log=self.ws.relative(log), fingerprint=fp
        )
        self._began[step.id] = time.monotonic()
        self.log(f"start {step.id} (pid {pid})")
        self.events.started(step)
        self._write()

    def _start_session(self, steps: list[PlannedStep], running: RunningSteps, launcher) -> None:
        """Steps measured side by side in one session (navctl.engine.sessions)."""
        members: list[tuple[PlannedStep, str]] = []
        for step in steps:
            fp = self._prepare(step)
            if fp is not None:
                members.append((step, fp))
        if len(members) < 2:
            for step, fp in members:  # one runner left: measured alone
                self._launch(step, fp, running, launcher)
            return
        spec = sessions.write_session(
            self.ws, [step for step, _ in members], self.loaded, self.options.threads, self._output_names()
        )
        later = self.scheduler.needs_later(steps)
        run = sessions.start_session(self.ws, spec, members, launcher, later, self.recipe.step_timeout)
        running[sessions.SESSION_ID] = run
        for step, fp in members:
            self._mark_running(step, sessions.session_log(self.ws), fp, run.handle.pid)

    def _interrupt(self, running: RunningSteps, pending: list[PlannedStep]) -> None:
        now = time.monotonic()
        if self.interrupts == 1 and not self._interrupt_noted:
            self._interrupt_noted = True
            self.events.note(
                f"interrupted: waiting up to {INTERRUPT_GRACE_S:g}s for {len(running)} running step(s); "
                "press Ctrl-C again to stop them now"
            )
            self.log("interrupt received")
            running.give_until(now + INTERRUPT_GRACE_S)
        running.stop(now, at_once=self.interrupts > 1)
        pending.clear()

    def _collect(self, run: Running, code: int, duration: float) -> None:
        if not run.members:
            log = self.ws.step_dir(run.step.id) / f"{run.step.kind}.log"
            self._collect_one(run.step, run.fingerprint, run, code, duration, log)
            return
        sessions.collect_figures(self.ws, self.status)
        for step, fp in run.members:
            self._collect_one(step, fp, run, code, duration, sessions.session_log(self.ws))

    def _collect_one(self, step: PlannedStep, fp: str, run: Running, code: int, duration: float, log: Path) -> None:
        result = read_result(self.ws.step_dir(step.id), step.kind)
        end = run.end(code, duration, bool(self.interrupts))
        record = step_record(step, result, end, log=log, rel_log=self.ws.relative(log), fingerprint=fp)
        if result is not None and record.state in ("ok", "failed", "rejected"):
            apply_result(self.status, step, result)
        self._finish(step, record)

    def _finish(self, step: PlannedStep, record: StepRecord) -> None:
        if record.state != "unavailable":
            began = self._began.pop(step.id, time.monotonic())
            record.started_s = round(began - self._clock_start, 3)
        self.status.steps[step.id] = record
        if kind(step.kind).records_signature and record.state in SUCCESS_STATES:
            self.recipe_problems = recipe_problems(self.loaded, self.status, self.plan, self.ws.root)
            self._added += grow(self.plan, self.status, self.ws.root, self.recipe, self.events)
            self.scheduler.refresh(self.plan)
        self.log(f"{record.state} {step.id} {record.reason}".rstrip())
        self._write()
        self.events.finished(step, record)

    # ----- results ------------------------------------------------------------------------------
    def _run_select(self, step: PlannedStep) -> None:
        self._began[step.id] = started = time.monotonic()
        apply_selection(self.status, self.recipe)
        self._finish(step, StepRecord(kind="select", state="ok", duration_s=round(time.monotonic() - started, 3)))
