"""Several recipes in one `navctl optimize`: validated together, run one after another, each in its own
workspace, one failure leaving the others to run, the worst exit code returned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navctl.engine.executor import RunOptions
from navctl.engine.fleet import FleetEvents, load_all, run_fleet, worst_exit
from navctl.errors import EXIT_INTERRUPTED, EnvironmentProblem
from tests.helpers import load_status, run_cli, write_project

CRASHING_MODEL = """
def build():
    raise RuntimeError("this model cannot be built")


def samples():
    return []
"""


def test_worst_exit_code_orders_by_severity() -> None:
    assert worst_exit([0, 1, 0]) == 1
    assert worst_exit([1, 4]) == 4
    assert worst_exit([4, 2, 1]) == 2
    assert worst_exit([2, 3]) == 3
    assert worst_exit([0, EXIT_INTERRUPTED, 3]) == EXIT_INTERRUPTED
    assert worst_exit([]) == 0


def test_a_failing_recipe_leaves_the_others_and_ctrl_c_stops_the_rest(tmp_path: Path) -> None:
    paths = [write_project(tmp_path / n, name=n) for n in ("a", "b", "c", "d")]
    entries = load_all(paths, tmp_path / "fleet")
    assert [e.workspace for e in entries] == [tmp_path / "fleet" / n for n in "abcd"]
    ran: list[str] = []

    def runner(loaded, **kwargs):
        ran.append(loaded.recipe.name)
        assert kwargs["plan"] is not None  # the plan is expanded once, by load_all
        if loaded.recipe.name == "a":
            raise EnvironmentProblem("no framework here")
        if loaded.recipe.name == "b":
            raise ValueError("a bug in one recipe's run")
        raise KeyboardInterrupt

    finished: list[tuple[str, str]] = []

    class Watch(FleetEvents):
        def recipe_finished(self, entry) -> None:
            finished.append((entry.name, entry.state))

    code = run_fleet(entries, RunOptions(), Watch(), runner=runner)
    assert ran == ["a", "b", "c"]  # d never started after the interrupt
    assert code == EXIT_INTERRUPTED
    assert [(e.exit_code, e.state) for e in entries] == [(4, "done"), (3, "done"), (130, "done"), (None, "not run")]
    assert "no framework here" in entries[0].error and "ValueError" in entries[1].error
    assert finished == [("a", "done"), ("b", "done"), ("c", "done"), ("d", "not run")]


def test_every_invalid_recipe_is_reported_and_nothing_runs(tmp_path: Path) -> None:
    good = write_project(tmp_path / "good", name="good")
    bad1 = write_project(tmp_path / "bad1", name="bad1", targets=["onnx", "no-such-format"])
    bad2 = write_project(tmp_path / "bad2", name="bad2", threads=-3)
    result = run_cli("optimize", str(good), str(bad1), str(bad2), "--workspace", str(tmp_path / "fleet"))
    assert result.returncode == 2, result.stderr
    assert f"{bad1}:" in result.stderr and "no-such-format" in result.stderr
    assert f"{bad2}:" in result.stderr and "threads" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "fleet").exists()  # validated before anything ran


def test_two_recipes_with_one_name_are_refused(tmp_path: Path) -> None:
    one = write_project(tmp_path / "one", name="same")
    two = write_project(tmp_path / "two", name="same")
    result = run_cli("optimize", str(one), str(two))
    assert result.returncode == 2 and "both named 'same'" in result.stderr


@pytest.mark.slow
def test_fleet_end_to_end_one_good_one_crashing(tmp_path: Path) -> None:
    good = write_project(tmp_path / "good", name="good")
    broken = write_project(tmp_path / "broken", CRASHING_MODEL, name="broken")
    summary = tmp_path / "summary.md"
    result = run_cli(
        "optimize", str(broken), str(good), "--workspace", str(tmp_path / "fleet"), "--json",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["exit_code"] == 1
    runs = {run["recipe"]: run for run in document["runs"]}
    assert runs["broken"]["exit_code"] == 1 and runs["broken"]["steps_failed"] >= 1
    assert runs["good"]["exit_code"] == 0 and runs["good"]["max_throughput"].startswith("onnx@onnxruntime-cpu")
    assert runs["good"]["selection"]["max-throughput"] == "onnx@onnxruntime-cpu"  # a single run's fields too
    assert load_status(tmp_path / "fleet" / "good")["run"]["exit_code"] == 0
    assert load_status(tmp_path / "fleet" / "broken")["steps"]["samples"]["state"] == "failed"
    assert Path(runs["good"]["package"]) == tmp_path / "fleet" / "good.nav"
    table = summary.read_text()
    assert "| good | done (exit 0) |" in table and "| broken | done (exit 1) |" in table
    assert "2 recipes queued: broken, good" in result.stderr
