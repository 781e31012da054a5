"""The warm worker's annex: slow imports only some steps need are made while other steps already run.

A real worker process (no framework: a module of this test that takes a while to import stands in for
torch's export machinery), real forks, real exit codes.
"""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from pathlib import Path

import pytest

from navctl.contract.step import StepResult
from navctl.engine.launch import EarlyWorker, WorkerLauncher, make_launcher

PROBE = """
import os
import sys


def probe(ctx):
    return {"parent": os.getppid(), "annex_module_loaded": "annex_slow_module" in sys.modules}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "annex_probe.py").write_text(textwrap.dedent(PROBE))
    (tmp_path / "annex_slow_module.py").write_text("import time\ntime.sleep(1.0)\n")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    return tmp_path


def _figures(step: Path) -> dict:
    """What the probe returned: the extra figures of its (export) step's metrics."""
    return StepResult.model_validate_json((step / "result.json").read_text()).metrics.model_extra


def _run(launcher: WorkerLauncher, folder: Path, name: str, later: bool) -> dict:
    step = folder / "steps" / name
    step.mkdir(parents=True)
    spec = {
        "step_id": name,
        "kind": "export",  # a make step's metrics keep a tool's own figures: here the probe's
        "function": "annex_probe:probe",
        "framework": "torch",
        "recipe_dir": str(folder),
        "model": {},
    }
    (step / "spec.json").write_text(json.dumps(spec))
    handle = launcher.start(step / "spec.json", step / "probe.log", folder, later=later)
    deadline = time.monotonic() + 60
    while handle.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert handle.poll() == 0, (step / "probe.log").read_text()
    return _figures(step)


def _wait(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_steps_needing_the_late_imports_wait_for_the_annex_and_run_in_it(folder: Path) -> None:
    launcher = make_launcher([], later=["annex_slow_module"])
    try:
        # the worker serves at once; the annex takes its second to import
        first = _run(launcher, folder, "first", later=False)
        assert first == {"parent": launcher.process.pid, "annex_module_loaded": False}
        assert not launcher.ready(True)
        assert launcher.ready(False)
        _wait(lambda: launcher.ready(True))
        late = _run(launcher, folder, "late", later=True)
        assert late["annex_module_loaded"] is True
        assert late["parent"] not in (launcher.process.pid, os.getpid())  # forked by the annex
        assert late["parent"] == launcher._annex_pid
        # once ready, the annex serves every step: it holds what the worker does and more (Hugging
        # Face's transformers imports torch's export machinery in every step that builds the model)
        again = _run(launcher, folder, "again", later=False)
        assert again == {"parent": launcher._annex_pid, "annex_module_loaded": True}
    finally:
        launcher.close()


def test_a_dead_annex_leaves_its_steps_to_the_worker(folder: Path) -> None:
    launcher = make_launcher([], later=["annex_slow_module"])
    try:
        _wait(lambda: launcher._annex_pid is not None)
        os.kill(launcher._annex_pid, signal.SIGKILL)  # mid-import: it never says it is ready
        _wait(lambda: launcher.ready(True))
        late = _run(launcher, folder, "late", later=True)
        assert late["parent"] == launcher.process.pid
        assert late["annex_module_loaded"] is False  # a real step imports what it needs itself
    finally:
        launcher.close()


def test_without_late_imports_there_is_no_annex(folder: Path) -> None:
    launcher = make_launcher([])
    try:
        assert launcher.ready(True)
        assert _run(launcher, folder, "only", later=True)["parent"] == launcher.process.pid
    finally:
        launcher.close()


def test_an_early_worker_no_run_took_is_killed_not_awaited(tmp_path: Path) -> None:
    # the CLI starts the framework's import from the recipe's framework line before validating it
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("framework: torch\ntargets: [onnx]\nmodel: {entrypoint: 3}\n")  # wrong: no run follows
    early = EarlyWorker(recipe)
    assert early.framework == ["torch"] and early.launcher is not None
    process = early.launcher.process
    early.close()
    assert process.returncode == -signal.SIGKILL  # killed mid-import, not waited for
    assert early.launcher is None


def test_an_early_worker_is_handed_to_the_run_or_replaced(tmp_path: Path, monkeypatch) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("framework: [not, a, name]\n")
    assert EarlyWorker(recipe).launcher is None  # cannot tell: the run starts its worker as before
    recipe.write_text("framework: torch\n")
    monkeypatch.setenv("NAVCTL_LAUNCHER", "fresh")
    assert EarlyWorker(recipe).launcher is None
    monkeypatch.delenv("NAVCTL_LAUNCHER")
    early = EarlyWorker(recipe)
    unused = early.launcher.process
    # the plan turned out to need another framework first: that worker goes, a right one comes
    launcher = early(["numpy"], later=[])
    try:
        assert unused.wait(timeout=30) == -signal.SIGKILL
        assert isinstance(launcher, WorkerLauncher) and launcher.process is not unused
        assert early.launcher is None  # the run owns it now; closing the early worker leaves it be
        early.close()
        assert launcher.process.poll() is None
    finally:
        launcher.close()


MODULES_PROBE = """
import os
import sys


def probe(ctx):
    names = ("annex_library", "annex_library.helper")
    return {"parent": os.getppid(), "loaded": [name for name in names if name in sys.modules]}
"""


def _libraries_folder(folder: Path) -> None:
    (folder / "annex_modules_probe.py").write_text(textwrap.dedent(MODULES_PROBE))
    library = folder / "annex_library"
    library.mkdir()
    (library / "__init__.py").write_text("print('annex_library says hello at import')\n")  # stdout: the protocol's
    (library / "helper.py").write_text("")  # a submodule named in `from annex_library import helper`


def _run_probe(launcher: WorkerLauncher, folder: Path, name: str) -> dict:
    step = folder / "steps" / name
    step.mkdir(parents=True)
    spec = {"step_id": name, "kind": "export", "function": "annex_modules_probe:probe", "framework": "torch",
            "recipe_dir": str(folder), "model": {}}  # fmt: skip
    (step / "spec.json").write_text(json.dumps(spec))
    handle = launcher.start(step / "spec.json", step / "probe.log", folder, later=False)
    _wait(lambda: handle.poll() is not None)
    assert handle.poll() == 0, (step / "probe.log").read_text()
    return _figures(step)


def test_the_annex_imports_the_libraries_of_the_users_files_for_every_step(folder: Path) -> None:
    _libraries_folder(folder)
    log = folder / "worker.log"
    with log.open("w") as stderr:
        launcher = make_launcher([], stderr, libraries=["annex_library:helper"])
    try:
        _wait(lambda: launcher.ready(True))
        assert launcher._annex_pid is not None
        probe = _run_probe(launcher, folder, "after")
        assert probe == {"parent": launcher._annex_pid, "loaded": ["annex_library", "annex_library.helper"]}
    finally:
        launcher.close()
    assert "annex_library says hello at import" in log.read_text()  # in the log, not in the protocol


def test_a_library_that_starts_a_thread_leaves_every_step_to_the_worker(folder: Path) -> None:
    _libraries_folder(folder)
    (folder / "threaded_library.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), name='poller', daemon=True).start()\n"
    )
    log = folder / "worker.log"
    with log.open("w") as stderr:
        launcher = make_launcher([], stderr, libraries=["annex_library", "threaded_library"])
    try:
        _wait(lambda: launcher._annex_pid is not None and launcher.ready(True))
        assert launcher.exit_codes.get(launcher._annex_pid) == 0  # it left: forking it could deadlock a step
        assert _run_probe(launcher, folder, "step")["parent"] == launcher.process.pid
    finally:
        launcher.close()
    assert "the model's imports started threads (poller)" in log.read_text()


def test_an_annex_whose_imports_hang_is_given_up_after_its_limit(folder: Path, monkeypatch) -> None:
    (folder / "hanging_library.py").write_text("import time\ntime.sleep(600)\n")
    monkeypatch.setattr("navctl.engine.launch.ANNEX_LIMIT_S", 2.0)
    launcher = make_launcher([], later=["annex_slow_module"], libraries=["hanging_library"])
    try:
        _wait(lambda: launcher._annex_pid is not None)
        assert not launcher.ready(True)  # still importing
        started = time.monotonic()
        _wait(lambda: launcher.ready(True))
        assert time.monotonic() - started < 30
        annex = launcher._annex_pid
        _wait(lambda: annex in launcher.exit_codes)
        assert launcher.exit_codes[annex] == -signal.SIGKILL
        late = _run(launcher, folder, "late", later=True)
        assert late["parent"] == launcher.process.pid  # the worker runs it, importing what it needs itself
    finally:
        launcher.close()


def test_a_worker_that_forked_no_step_is_killed_at_close_and_one_that_did_ends_itself(folder: Path) -> None:
    # every step cached: the run ends at once instead of waiting for the framework's import to finish
    idle = make_launcher([])
    idle.close()
    assert idle.process.returncode == -signal.SIGKILL
    used = make_launcher([])
    _run(used, folder, "one", later=False)
    used.close()
    assert used.process.returncode == 0  # told by stdin's end, after reporting its children's exits
