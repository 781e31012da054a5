"""The executor in-process with a fake launcher: every state, the cache, --only, in milliseconds.

The fake writes each step's result.json as the real step would (or none, for a crash or a hang), so
scheduling, state mapping, caching and status writing are tested without a framework or a process.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from navctl.contract.step import RESULT_FILE, StepResult, StepSpec
from navctl.engine.executor import Executor, RunOptions
from navctl.engine.record import exit_code_for
from navctl.engine.workspace import Workspace
from navctl.hashing import sha256_file
from navctl.plan.expand import Machine, expand
from navctl.recipe.load import load_recipe
from navctl.status import Status, StepRecord, read_status
from tests.helpers import TINY_MODEL, files_project, write_project

PROFILE = {
    "batch_size": 1,
    "mean_ms": 1.0,
    "p50_ms": 1.0,
    "p90_ms": 1.0,
    "p95_ms": 1.0,
    "p99_ms": 1.0,
    "throughput": 1000.0,
    "cv": 0.01,
    "stable": True,
    "requests": 10,
}


class FakeHandle:
    def __init__(self, code: int | None) -> None:
        self.pid = -1
        self.code = code

    def poll(self) -> int | None:
        return self.code


class FakeLauncher:
    """Steps end at once: `behaviour[step id]` is ok (default), failed, crashed or hang."""

    def __init__(self, behaviour: dict[str, str], workspace: Path) -> None:
        self.behaviour = behaviour
        self.workspace = workspace
        self.started: list[str] = []
        self.signals: list[tuple[FakeHandle, int]] = []

    def __call__(self, preload, stderr=None, later=(), libraries=()) -> FakeLauncher:
        self.preload, self.libraries = list(preload), list(libraries)
        return self

    def ready(self, later: bool) -> bool:
        return True

    def _result(self, spec: StepSpec, state: str) -> StepResult:
        if state == "failed":
            return StepResult(kind=spec.kind, state="failed", message="ValueError: broken")
        metrics: dict = {}
        if spec.kind == "samples":
            metrics = {
                "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 8]}],
                "outputs": [{"name": "output_0", "dtype": "float32", "shape": [-1, 4]}],
            }
        elif spec.kind == "correctness":
            metrics = {"correctness": {"passed": True, "outputs": {}}}
        elif spec.kind == "profile":
            metrics = {"profile": [PROFILE], "profile_stopped": ""}
        return StepResult(kind=spec.kind, state="ok", metrics=metrics, peak_rss_mb=100.0)

    def _write(self, spec: StepSpec, state: str) -> None:
        path = self.workspace / "steps" / spec.step_id / RESULT_FILE
        path.write_text(self._result(spec, state).model_dump_json())

    def start(self, spec_path: Path, log: Path, cwd: Path, later: bool = False, env: dict | None = None) -> FakeHandle:
        spec = StepSpec.model_validate_json(spec_path.read_text())
        log.write_text("fake\n")
        members = [StepSpec.model_validate_json((cwd / p).read_text()) for p in getattr(spec.options, "members", [])]
        self.started += [m.step_id for m in members] or [spec.step_id]
        state = self.behaviour.get(spec.step_id, "ok")
        if state == "crashed":
            return FakeHandle(-signal.SIGSEGV)
        if state == "hang":
            return FakeHandle(None)
        for member in members or [spec]:
            self._write(member, self.behaviour.get(member.step_id, "ok"))
        if not members:
            json.loads((cwd / "steps" / spec.step_id / RESULT_FILE).read_text())
        return FakeHandle(0 if state == "ok" else 1)

    def signal(self, handle: FakeHandle, sig: int) -> None:
        self.signals.append((handle, sig))
        if handle.code is None and sig == signal.SIGKILL:
            handle.code = -signal.SIGKILL

    def close(self) -> None:
        pass


@pytest.fixture
def setup(tmp_path: Path):
    recipe = write_project(tmp_path, targets=["torchscript-trace", "onnx"], step_timeout="1s")
    loaded = load_recipe(recipe)
    plan = expand(loaded.recipe, Machine(cuda=False, modules={"torch": True, "onnx": True, "onnxruntime": True}))
    ws = Workspace(tmp_path / "ws")
    ws.acquire()
    yield loaded, plan, ws
    ws.release()


def _run(setup, behaviour=None, **options):
    loaded, plan, ws = setup
    fake = FakeLauncher(behaviour or {}, ws.root)
    status = Executor(loaded, plan, ws, RunOptions(jobs=2, threads=1, **options), launcher_factory=fake).run()
    return status, fake


def test_all_ok_profiles_side_by_side_and_selects(setup) -> None:
    status, fake = _run(setup)
    states = {k: v.state for k, v in status.steps.items() if v.state != "unavailable"}
    assert set(states.values()) == {"ok"}, states
    assert exit_code_for(status) == 0
    # every available profile step ran in one session
    assert (setup[2].root / "steps" / "profile" / "side-by-side" / "spec.json").exists()
    assert status.selection["max-throughput"] in status.results
    assert status.steps["samples"].peak_rss_mb == 100.0
    assert read_status(setup[2].root).run.state == "finished"


def _run_all_ok(recipe: Path, modules: dict[str, bool]) -> FakeLauncher:
    """The recipe's plan on a machine with `modules`, every step ending ok at once; the launcher that ran it."""
    loaded = load_recipe(recipe)
    plan = expand(loaded.recipe, Machine(cuda=False, modules=modules))
    ws = Workspace(recipe.parent / "ws")
    ws.acquire()
    try:
        fake = FakeLauncher({}, ws.root)
        Executor(loaded, plan, ws, RunOptions(jobs=2, threads=1), launcher_factory=fake).run()
    finally:
        ws.release()
    return fake


def test_the_worker_preloads_the_models_libraries_but_not_what_it_imports_anyway(tmp_path: Path) -> None:
    imports = "import torch\nimport onnxruntime\nfrom transformers import BertModel\nimport layers\n"
    recipe = write_project(tmp_path, TINY_MODEL.replace("import torch\n", imports, 1), targets=["onnx"])
    (tmp_path / "layers.py").write_text("import tokenizers\n")  # the model's own module: its libraries too
    fake = _run_all_ok(recipe, {"torch": True, "onnx": True, "onnxruntime": True})
    assert fake.preload == ["torch", "onnxruntime"]  # the worker imports these itself
    assert fake.libraries == ["tokenizers", "transformers:BertModel"]
    # and every step process gets the same list, for runners that load artifacts naming their operators
    spec = StepSpec.model_validate_json((tmp_path / "ws/steps/correctness/onnx@onnxruntime-cpu/spec.json").read_text())
    assert spec.libraries == fake.libraries


def test_failed_and_crashed_steps_skip_their_dependents(setup) -> None:
    status, _ = _run(setup, {"export/onnx": "failed", "export/torchscript-trace": "crashed"})
    assert status.steps["export/onnx"].state == "failed"
    assert "ValueError: broken" in status.steps["export/onnx"].reason
    assert status.steps["export/torchscript-trace"].state == "crashed"
    assert status.steps["export/torchscript-trace"].reason.startswith("SIGSEGV")
    assert status.steps["correctness/onnx@onnxruntime-cpu"].state == "skipped"
    assert status.steps["profile/source@torch-cpu"].state == "ok"  # the source is profiled alone
    assert exit_code_for(status) == 1


def test_a_hanging_step_times_out_with_escalating_signals(setup, monkeypatch) -> None:
    monkeypatch.setattr("navctl.engine.signals.ESCALATION_S", 0.01)
    status, fake = _run(setup, {"export/onnx": "hang"})
    assert status.steps["export/onnx"].state == "timeout"
    hung = [sig for handle, sig in fake.signals if handle.code is not None and handle.code == -signal.SIGKILL]
    assert hung[:3] == [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


def test_rerun_is_cached_and_only_keeps_the_rest(setup) -> None:
    _run(setup)
    status, fake = _run(setup)
    assert {v.state for v in status.steps.values()} <= {"cached", "ok", "unavailable"}
    assert fake.started == []  # nothing launched: every fingerprint matched
    status, fake = _run(setup, only=["export/onnx"], force=True)
    assert fake.started == ["samples", "export/onnx"]
    assert status.steps["correctness/onnx@onnxruntime-cpu"].state == "cached"  # carried over from before
    assert status.selection["max-throughput"]  # still made from every result in the workspace


_SOURCE_STEPS = {"samples", "export/torchscript-trace", "export/onnx", "profile/source@torch-cpu"}
_VERIFY_STEPS = {f"verify/{key}" for key in ("torchscript-trace@torchscript-cpu", "onnx@onnxruntime-cpu")} | {
    "verify/onnx-int8@onnxruntime-cpu"
}
# a file of files_project edited -> the steps that read it, so rerun (the fake's steps make no artifacts,
# so what depends on a rerun step through its artifacts stays cached here)
EDITS = {
    "models/layers.py": _SOURCE_STEPS,  # a helper module the model file imports
    "data/tokenize_utils.py": {"samples"},  # imported inside the dataloader's body
    "data/calib.py": {"convert/onnx-int8"},  # the calibration factory's file
    "recipes/checks.py": _VERIFY_STEPS,
    "weights/a.bin": _SOURCE_STEPS | {"convert/onnx-int8"} | _VERIFY_STEPS,  # runtime_files: any user code
}


@pytest.mark.parametrize("edited", sorted(EDITS))
def test_editing_a_user_file_reruns_exactly_the_steps_that_read_it(edited: str, tmp_path: Path) -> None:
    recipe = files_project(tmp_path)
    modules = {"torch": True, "onnx": True, "onnxruntime": True}
    _run_all_ok(recipe, modules)
    with open(tmp_path / edited, "a") as handle:
        handle.write("\n# edited\n")
    fake = _run_all_ok(recipe, modules)
    assert set(fake.started) == EDITS[edited]
    status = read_status(recipe.parent / "ws")
    states = {k: v.state for k, v in status.steps.items() if k != "select" and v.state != "unavailable"}
    assert {k for k, state in states.items() if state == "ok"} == EDITS[edited]
    assert {state for k, state in states.items() if k not in EDITS[edited]} == {"cached"}
    listed = {(recipe.parent / r.path).resolve(): r.sha256 for r in status.user_files}  # absolute paths stay
    assert listed[tmp_path / edited] == sha256_file(tmp_path / edited)  # the set, as hashed after the edit


def test_run_recipe_leaves_the_callers_options_as_given(tmp_path: Path) -> None:
    from navctl.engine.api import run_recipe

    recipe = write_project(tmp_path, targets=["onnx"])
    loaded = load_recipe(recipe)
    plan = expand(loaded.recipe, Machine(cuda=False, modules={"torch": True, "onnx": True, "onnxruntime": True}))
    options = RunOptions()  # threads and jobs 0: each run picks its own (the recipe's threads: 1)
    outcome = run_recipe(
        loaded, options=options, plan=plan, pack=False, launcher_factory=FakeLauncher({}, recipe.parent / "ws")
    )
    assert outcome.status.environment.threads == 1
    assert options == RunOptions()  # a fleet hands the same options to the next recipe


def test_the_longest_chain_starts_first(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, targets=["torchscript-trace", "onnx", "openvino"])
    fake = _run_all_ok(recipe, {"torch": True, "onnx": True, "onnxruntime": True, "openvino": True})
    # export/onnx has a conversion and three checks behind it; torchscript-trace one check
    assert fake.started.index("export/onnx") < fake.started.index("export/torchscript-trace")


class LateAnnexLauncher(FakeLauncher):
    """The warm worker's annex (torch's export machinery) ready only after `ready_after` steps started."""

    def __init__(self, behaviour: dict[str, str], workspace: Path, ready_after: int) -> None:
        super().__init__(behaviour, workspace)
        self.ready_after = ready_after
        self.later: dict[str, bool] = {}
        self.asked_later: list[str] = []

    def __call__(self, preload, stderr=None, later=(), libraries=()) -> FakeLauncher:
        self.preload, self.late_modules = preload, list(later)
        return self

    def ready(self, later: bool) -> bool:
        return not later or len(self.started) >= self.ready_after

    def start(self, spec_path: Path, log: Path, cwd: Path, later: bool = False, env: dict | None = None) -> FakeHandle:
        assert self.ready(later), f"{spec_path} started before the annex was ready"
        handle = super().start(spec_path, log, cwd)
        for step in self.started[len(self.later) :]:
            self.later[step] = later
        return handle


def test_steps_needing_late_imports_wait_for_the_annex_while_the_others_run(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, targets=["torchscript-trace", "torch-export", "onnx"])
    loaded = load_recipe(recipe)
    plan = expand(loaded.recipe, Machine(cuda=False, modules={"torch": True, "onnx": True, "onnxruntime": True}))
    ws = Workspace(tmp_path / "ws")
    ws.acquire()
    try:
        fake = LateAnnexLauncher({}, ws.root, ready_after=5)
        status = Executor(loaded, plan, ws, RunOptions(jobs=2, threads=1), launcher_factory=fake).run()
    finally:
        ws.release()
    assert {v.state for v in status.steps.values()} <= {"ok", "unavailable"}
    # the worker imports torch at once; torch's export machinery is the annex's
    assert "torch" in fake.preload and fake.late_modules == ["torch._export.serde.serialize", "torch.export._trace"]
    late = [step for step, needs in fake.later.items() if needs]
    assert "export/torch-export" in late and "correctness/torch-export@torch-export-cpu" in late
    assert "export/onnx" not in late and "samples" not in late
    # the export of torch-export could not go before the annex: five steps that need no annex went first
    assert fake.started.index("export/torch-export") >= 5
    assert fake.later["profile/source@torch-cpu"] is True  # the side-by-side session holds torch-export


def _status_of(**steps: str) -> Status:
    """A status holding only steps (id -> state), as exit_code_for reads it."""
    return Status.model_construct(
        steps={
            step: StepRecord(kind=step.split("/")[0], state=state, reason="ValueError: no")
            for step, state in steps.items()
        }
    )


def test_a_group_member_that_cannot_be_made_is_excused_only_when_another_was_and_rejection_is_no_failure() -> None:
    made_and_not = {"export/torchscript-trace": "ok", "export/torchscript-script": "failed"}
    # torch.jit.script cannot script most Hugging Face models: asked for through the group, it is excused
    grouped = _status_of(**made_and_not)
    assert exit_code_for(grouped, ["torchscript", "onnx"]) == 0
    assert "not counted as a failure: torchscript-trace was made" in grouped.steps["export/torchscript-script"].reason
    # listed on its own it is required
    assert exit_code_for(_status_of(**made_and_not), ["torchscript-trace", "torchscript-script"]) == 1
    # a reduced-precision candidate that missed its gate is an answer, not a failure
    assert exit_code_for(_status_of(**{"correctness/onnx-int8@onnxruntime-cpu": "rejected"})) == 0


def test_a_disk_that_fills_up_while_packing_keeps_the_results_and_exits_4(setup, monkeypatch) -> None:
    """The package's folder was writable before the run; ENOSPC (which a test cannot make for real)
    at packing time ends as exit 4 with the reason, the outcome and status.yaml still there."""
    import errno

    from navctl.engine import api

    loaded, plan, ws = setup
    ws.release()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(api, "write_package", full)
    fake = FakeLauncher({}, ws.root)
    outcome = api.run_recipe(loaded, plan=plan, options=RunOptions(jobs=2, threads=1), launcher_factory=fake)
    target = loaded.base_dir / "tiny.nav"
    assert outcome.exit_code == 4 and outcome.package is None
    assert outcome.notes == [f"no package written: package {target}: cannot be written: No space left on device"]
    assert read_status(ws.root).run.exit_code == 4 and outcome.status.steps["select"].state == "ok"
