"""Run a plan: schedule steps, launch them, enforce timeouts, reuse cached results, record status.

The parent never imports a framework. After every step, status.yaml is rewritten atomically, so
killing this process at any moment leaves a valid status that a rerun resumes from.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from navctl.contract.step import MODEL_IO_FILE, RESULT_FILE, SPEC_FILE
from navctl.engine.cache import StepCache, read_result
from navctl.engine.launch import Launcher, StepHandle, make_launcher, write_reproduce
from navctl.engine.library_imports import library_imports
from navctl.engine.record import StepEnd, apply_result, new_status, now_utc, step_record
from navctl.engine.specs import build_spec, session_spec
from navctl.engine.user_files import step_roles, user_files
from navctl.engine.workspace import LOG_FILE, STEPS_DIR, Workspace
from navctl.errors import RecipeProblem, UsageError
from navctl.generation.spec import added_steps as generation_steps
from navctl.plan import registry
from navctl.plan.environment import package_versions
from navctl.plan.expand import SELECT
from navctl.plan.fingerprint import fingerprint
from navctl.plan.models import Plan, PlannedStep
from navctl.plan.only import only_steps
from navctl.profiling.selection import best_by_batch_size, select
from navctl.recipe.axes import signature_problems
from navctl.recipe.load import LoadedRecipe, too_few_to_calibrate, unknown_tensor_names
from navctl.status import (
    SUCCESS_STATES,
    ProfilingInfo,
    Status,
    StepRecord,
    UserFileRecord,
    read_status,
    write_atomic,
    write_status,
)

# Escalation after a timeout or an interrupt: SIGINT, then SIGTERM, then SIGKILL, this far apart.
ESCALATION_S = 2.0
INTERRUPT_GRACE_S = 5.0
POLL_S = 0.005
SESSION_ID = "profile/side-by-side"  # the folder of a profiling session under steps/


@dataclass
class RunOptions:
    force: bool = False
    only: list[str] = field(default_factory=list)
    jobs: int = 0  # 0: two where there are two cores or more
    threads: int = 0  # 0: the recipe's threads, else every core


class Events:
    """Progress callbacks; the CLI's console view overrides these."""

    def started(self, step: PlannedStep) -> None:
        """A step began running."""

    def finished(self, step: PlannedStep, record: StepRecord) -> None:
        """A step reached a final state (including cached, skipped and unavailable)."""

    def note(self, message: str) -> None:
        """A one-line remark for the user."""

    def added(self, steps: list[PlannedStep]) -> None:
        """The plan gained steps while running (a decoder's generation steps)."""


@dataclass
class _Running:
    step: PlannedStep
    handle: StepHandle
    started: float
    fingerprint: str
    deadline: float
    stage: int = 0  # 0 running, 1 SIGINT sent, 2 SIGTERM sent, 3 SIGKILL sent
    next_signal_at: float = 0.0
    timed_out: bool = False
    members: list[tuple[PlannedStep, str]] = field(default_factory=list)  # a profiling session's steps


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
        self.previous = self._previous_status()
        self.cache = StepCache(self.previous, workspace, options.force, self.events.note)
        self.status = new_status(loaded, plan, workspace.root, options.threads, self.versions, self.previous)
        self.status.user_files = [UserFileRecord(**record) for record in self.user_files.records()]
        self.interrupts = 0
        self.carried: set[str] = set()  # steps --only left out, whose earlier records are kept
        self.recipe_problems: list[RecipeProblem] = []  # found once the samples step knows the names
        self._chain = plan.work_behind()
        # steps whose runtimes import something later (the worker's annex); asked at every scheduling turn
        self._annex_steps = {
            s.id for s in plan.steps if any(registry.RUNTIMES[r].preload_later for r in self._runtimes(s))
        }
        self._interrupt_noted = False
        # when each step began, for the report's timeline (status records it as seconds after this start)
        self._clock_start = time.monotonic()
        self._began: dict[str, float] = {}
        self._log = open(self.ws.root / LOG_FILE, "a", encoding="utf-8")  # noqa: SIM115 - closed in run()
        self._added: list[PlannedStep] = []  # steps the plan gained while running (a decoder's generation)

    # ----- status -------------------------------------------------------------------------------
    def _previous_status(self) -> Status | None:
        if not (self.ws.root / "status.yaml").exists():
            return None
        try:
            return read_status(self.ws.root)
        except UsageError as exc:
            self.events.note(f"{exc.message}; every step reruns")
            return None

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
            now, later, self.libraries = self._preload()
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

    def _runtimes(self, step: PlannedStep) -> list[str]:
        if step.runner:
            return [registry.split_runner(step.runner)[0]]
        return list(registry.FORMATS[step.format].runtimes) if step.format in registry.FORMATS else []

    def _preload(self) -> tuple[list[str], list[str], list[str]]:
        """What the warm worker imports once: the framework and every runtime the plan will run here
        (each declares its modules in the registry; TensorFlow alone saves about 4 s per step); what its
        annex imports while the first steps run (`preload_later`); and the other libraries the user's
        files import (Hugging Face's transformers: about 3 s a step)."""
        fw = self.recipe.framework
        runtimes = list(registry.SOURCE_RUNTIMES[fw])
        for step in self.plan.steps:
            if step.available:
                runtimes += self._runtimes(step)
        now = list(registry.SOURCE_PACKAGES[fw])
        later: list[str] = []
        for runtime in runtimes:
            now += registry.RUNTIMES[runtime].preload
            later += registry.RUNTIMES[runtime].preload_later
        now = list(dict.fromkeys(now))
        later = [m for m in dict.fromkeys(later) if m not in now]
        preloaded = {module.split(".")[0] for module in now + later}
        libraries = library_imports(self.user_files.python_files(), self.loaded.base_dir, skip=preloaded)
        return now, later, libraries

    def _needs_later(self, steps: list[PlannedStep]) -> bool:
        return any(step.id in self._annex_steps for step in steps)

    def _on_interrupt(self, signum: int, frame: Any) -> None:
        self.interrupts += 1

    def _selected_steps(self) -> set[str]:
        if not self.options.only:
            return {s.id for s in self.plan.steps if not s.inline}
        chosen = only_steps(self.plan, self.options.only)
        for step in self.plan.steps:
            if step.id not in chosen and not step.inline and self.previous and step.id in self.previous.steps:
                self._carry_over(step)
        return chosen

    def _carry_over(self, step: PlannedStep) -> None:
        """Keep a step's earlier record (and its results) when --only leaves it out."""
        record = self.previous.steps[step.id]
        self.status.steps[step.id] = record
        self.carried.add(step.id)
        key = registry.result_key(step.format or "", step.runner or "")
        if self.previous and key in self.previous.results:
            self.status.results[key] = self.previous.results[key]

    def _loop(self, steps: list[PlannedStep], launcher) -> None:
        pending = list(steps)
        running: dict[str, _Running] = {}
        while pending or running or self._added:
            pending += [s for s in self._added if s.available]
            self._added.clear()
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
            self._poll(running)
            if running or pending:  # pending with nothing running: waiting for the worker's annex
                time.sleep(POLL_S)

    def _dep_states(self, step: PlannedStep) -> list[str]:
        return [self.status.steps[d].state for d in step.deps]

    def _schedule(self, pending: list[PlannedStep], running: dict[str, _Running], launcher) -> None:
        # While the worker's annex imports, it is the longest wait of the run (the steps behind it are
        # the slowest chain): it keeps a core of its own, and the other steps share the rest.
        jobs = max(1, self.options.jobs - (0 if launcher.ready(True) else 1))
        while not any(r.step.exclusive for r in running.values()) and len(running) < jobs:
            step = self._next(pending, running, launcher)
            if step is None:
                return
            pending.remove(step)
            bad = [d for d in step.deps if self.status.steps[d].state not in SUCCESS_STATES]
            if bad:
                dep = self.status.steps[bad[0]]
                self._finish(step, StepRecord(kind=step.kind, state="skipped", reason=f"{bad[0]} {dep.state}"))
                continue
            if step.kind == "profile" and not self.recipe.profiling.tune:
                # Nothing else runs now: every profile step that can run is measured side by side.
                together = [step] + [
                    s
                    for s in pending
                    if s.kind == "profile"
                    and self._ready(s)
                    and s.device == step.device
                    and all(self.status.steps[d].state in SUCCESS_STATES for d in s.deps)
                ]
                for member in together[1:]:
                    pending.remove(member)
                self._start_session(together, running, launcher)
                continue
            self._start(step, running, launcher)

    def _next(self, pending: list[PlannedStep], running: dict[str, _Running], launcher) -> PlannedStep | None:
        """Skips first, then ordinary steps; profiling and select only when nothing else runs."""
        ready = [s for s in pending if self._ready(s)]
        for step in ready:
            if any(self.status.steps[d].state not in SUCCESS_STATES for d in step.deps):
                return step
        # a step that needs the worker's annex (navctl.engine.worker) waits for it while others start
        ordinary = [s for s in ready if not s.exclusive and launcher.ready(self._needs_later([s]))]
        if ordinary:
            # the longest chain first: the ONNX export (with conversions and checks behind it) must not
            # wait behind short steps that nothing waits for
            return max(ordinary, key=lambda s: self._chain[s.id])
        if running or not launcher.ready(True):  # a side-by-side session may hold any runtime
            return None
        return ready[0] if ready else None

    def _ready(self, step: PlannedStep) -> bool:
        return all(s not in ("pending", "running") for s in self._dep_states(step))

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
        dep_hashes = [a.sha256 for d in step.deps for a in self.status.steps[d].artifacts]
        user_hashes = self.user_files.hashes(step_roles(step, self.recipe))
        fp = fingerprint(spec_data, dep_hashes, user_hashes, self.versions)
        cached = self.cache.lookup(step, fp)
        if cached is not None:
            apply_result(self.status, step, cached[1])
            self._finish(step, cached[0])
            return None
        write_atomic(step_dir / SPEC_FILE, json.dumps(spec_data, indent=2))
        (step_dir / RESULT_FILE).unlink(missing_ok=True)
        write_reproduce(step.id, step_dir)
        return fp

    def _start(self, step: PlannedStep, running: dict[str, _Running], launcher) -> None:
        fp = self._prepare(step)
        if fp is not None:
            self._launch(step, fp, running, launcher)

    def _launch(self, step: PlannedStep, fp: str, running: dict[str, _Running], launcher) -> None:
        step_dir = self.ws.step_dir(step.id)
        log = step_dir / f"{step.kind}.log"
        handle = launcher.start(step_dir / SPEC_FILE, log, self.ws.root, later=self._needs_later([step]))
        now = time.monotonic()
        running[step.id] = _Running(step, handle, now, fp, now + self.recipe.step_timeout)
        self._mark_running(step, log, fp, handle.pid)

    def _mark_running(self, step: PlannedStep, log: Path, fp: str, pid: int) -> None:
        self.status.steps[step.id] = StepRecord(
            kind=step.kind, state="running", log=self.ws.relative(log), fingerprint=fp
        )
        self._began[step.id] = time.monotonic()
        self.log(f"start {step.id} (pid {pid})")
        self.events.started(step)
        self._write()

    def _start_session(self, steps: list[PlannedStep], running: dict[str, _Running], launcher) -> None:
        """Profile steps measured side by side in one session (navctl.profiling.interleave)."""
        members: list[tuple[PlannedStep, str]] = []
        for step in steps:
            fp = self._prepare(step)
            if fp is not None:
                members.append((step, fp))
        if len(members) < 2:
            for step, fp in members:  # one runner left: measured alone
                self._launch(step, fp, running, launcher)
            return
        session_dir = self.ws.root / STEPS_DIR / SESSION_ID
        session_dir.mkdir(parents=True, exist_ok=True)
        spec = session_spec(
            [step for step, _ in members], self.loaded, self.options.threads, self._output_names(), SESSION_ID
        )
        write_atomic(session_dir / SPEC_FILE, spec.model_dump_json(indent=2))
        (session_dir / RESULT_FILE).unlink(missing_ok=True)
        log = session_dir / "profile.log"
        handle = launcher.start(session_dir / SPEC_FILE, log, self.ws.root, later=self._needs_later(steps))
        now = time.monotonic()
        first, fp = members[0]
        running[SESSION_ID] = _Running(
            first, handle, now, fp, now + self.recipe.step_timeout * len(members), members=members
        )
        for step, fp in members:
            self._mark_running(step, log, fp, handle.pid)

    def _poll(self, running: dict[str, _Running]) -> None:
        now = time.monotonic()
        for step_id, run in list(running.items()):
            code = run.handle.poll()
            if code is None:
                if now >= run.deadline and run.stage == 0:
                    run.timed_out = True
                    self._escalate(run, now)
                elif run.stage and now >= run.next_signal_at:
                    self._escalate(run, now)
                continue
            del running[step_id]
            self._launcher.signal(run.handle, signal.SIGKILL)  # whatever the step left behind goes with it
            self._collect(run, code, now - run.started)

    def _escalate(self, run: _Running, now: float) -> None:
        sig = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)[min(run.stage, 2)]
        self._launcher.signal(run.handle, sig)
        self.log(f"{run.step.id}: sent {signal.Signals(sig).name}")
        run.stage += 1
        run.next_signal_at = now + ESCALATION_S

    def _interrupt(self, running: dict[str, _Running], pending: list[PlannedStep]) -> None:
        now = time.monotonic()
        if self.interrupts == 1 and not self._interrupt_noted:
            self._interrupt_noted = True
            self.events.note(
                f"interrupted: waiting up to {INTERRUPT_GRACE_S:g}s for {len(running)} running step(s); "
                "press Ctrl-C again to stop them now"
            )
            self.log("interrupt received")
            for run in running.values():
                run.deadline = min(run.deadline, now + INTERRUPT_GRACE_S)
        if self.interrupts > 1:
            for run in running.values():
                if run.stage == 0:
                    self._escalate(run, now)
        for run in running.values():
            if run.stage == 0 and now >= run.deadline:
                self._escalate(run, now)
        pending.clear()

    def _collect(self, run: _Running, code: int, duration: float) -> None:
        if not run.members:
            log = self.ws.step_dir(run.step.id) / f"{run.step.kind}.log"
            self._collect_one(run.step, run.fingerprint, run, code, duration, log)
            return
        session_dir = self.ws.root / STEPS_DIR / SESSION_ID
        session = read_result(session_dir)
        if session is not None and "session" in session.metrics:
            self.status.profiling = ProfilingInfo(**session.metrics["session"])
        for step, fp in run.members:
            self._collect_one(step, fp, run, code, duration, session_dir / "profile.log")

    def _collect_one(self, step: PlannedStep, fp: str, run: _Running, code: int, duration: float, log: Path) -> None:
        result = read_result(self.ws.step_dir(step.id))
        record = step_record(
            step,
            result,
            StepEnd(code, round(duration, 3), run.timed_out, run.deadline - run.started, bool(self.interrupts)),
            log=log,
            rel_log=self.ws.relative(log),
            fingerprint=fp,
        )
        if result is not None and record.state in ("ok", "failed", "rejected"):
            apply_result(self.status, step, result)
        self._finish(step, record)

    def _sample_count(self) -> int:
        from navctl.contract.tensors import ModelIO

        try:
            return ModelIO.read(self.ws.root / MODEL_IO_FILE).samples
        except (OSError, ValueError):
            return 0

    def _finish(self, step: PlannedStep, record: StepRecord) -> None:
        if record.state != "unavailable":
            began = self._began.pop(step.id, time.monotonic())
            record.started_s = round(began - self._clock_start, 3)
        self.status.steps[step.id] = record
        if step.kind == "samples" and record.state in SUCCESS_STATES:
            self.recipe_problems = unknown_tensor_names(
                self.loaded, [t.name for t in self.status.inputs], self._output_names()
            ) + too_few_to_calibrate(self.loaded, self._sample_count(), self.plan.formats)
            self.recipe_problems += signature_problems(self.loaded.path, self.recipe, self.status.inputs)
            self._grow(generation_steps(self.plan, self.ws.root, self.recipe))
        self.log(f"{record.state} {step.id} {record.reason}".rstrip())
        self._write()
        self.events.finished(step, record)

    def _grow(self, steps: list[PlannedStep]) -> None:
        """Add steps found while running (before select, which stays last) and schedule them."""
        if not steps:
            return
        self.plan.steps[-1:-1] = steps
        self.plan.notes.append(f"the samples step found a decoder: {len(steps)} generation steps added")
        self.events.note(self.plan.notes[-1])
        self._chain = self.plan.work_behind()
        self.events.added(steps)
        for step in steps:
            state = "pending" if step.available else "unavailable"
            self.status.steps[step.id] = StepRecord(kind=step.kind, state=state, reason=step.reason)
            if not step.available:
                self.events.finished(step, self.status.steps[step.id])
        self._added += steps

    # ----- results ------------------------------------------------------------------------------
    def _run_select(self, step: PlannedStep) -> None:
        started = time.monotonic()
        self._began[step.id] = started
        verify = self.recipe.verify is not None
        self.status.selection = select(self.status.results, self.recipe.selection, verify)
        self.status.best_by_batch_size = best_by_batch_size(self.status.results, verify)
        self._finish(step, StepRecord(kind="select", state="ok", duration_s=round(time.monotonic() - started, 3)))
