"""Several recipes in one `navctl optimize`: validated together, run one after another, each in its own
workspace, one failure leaving the others to run, the worst exit code returned."""

from __future__ import annotations

from pathlib import Path

import pytest

from navctl.engine.executor import RunOptions
from navctl.engine.fleet import FleetEvents, load_all, run_fleet, worst_exit
from navctl.errors import EXIT_INTERRUPTED, EnvironmentProblem
from tests.helpers import check_three_recipes, run_cli, three_recipes, write_project


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
    # each stopped before its first step: not run, whatever stopped it
    assert [(e.exit_code, e.state, e.reason) for e in entries] == [
        (4, "not run", "cannot run here"),
        (3, "not run", "internal error"),
        (130, "not run", "interrupted"),
        (None, "not run", "interrupted"),
    ]
    assert "no framework here" in entries[0].error and "ValueError" in entries[1].error
    assert finished == [("a", "not run"), ("b", "not run"), ("c", "not run"), ("d", "not run")]


def test_the_fleet_table_says_which_recipes_never_ran_and_why_under_the_table(tmp_path: Path) -> None:
    from navctl.engine.executor import Events
    from navctl.errors import RecipeError, RecipeProblem
    from navctl.plan.models import PlannedStep
    from navctl.report.fleet import fleet_markdown, fleet_notes, fleet_rows
    from navctl.status import StepRecord

    names = ("broken", "gpu", "late", "stopped")
    entries = load_all([write_project(tmp_path / n, name=n) for n in names], tmp_path / "fleet")
    entries[1].plan, entries[1].plan_error = None, EnvironmentProblem("no CUDA device is visible")
    samples = PlannedStep(id="samples", kind="samples")

    def runner(loaded, events: Events, **kwargs):
        name = loaded.recipe.name
        if name == "broken":  # before any step: the recipe's files are not there
            raise RecipeError("recipe.yaml", [RecipeProblem("file '../models/model.py' does not exist", 4, 16)])
        events.finished(samples, StepRecord(kind="samples", state="ok"))  # it ran, then stopped
        if name == "late":
            raise RecipeError("recipe.yaml", [RecipeProblem("the model has no output named 'logits'", 9, 5)])
        raise KeyboardInterrupt

    run_fleet(entries, RunOptions(), runner=runner)
    rows = {row.recipe: row for row in fleet_rows(entries)}
    states = {name: row.cells()[1] for name, row in rows.items()}
    assert states == {
        "broken": "not run: invalid recipe (exit 2)",
        "gpu": "not run: cannot run here (exit 4)",
        "late": "done (exit 2)",  # its samples step ran
        "stopped": "done (exit 130)",
    }
    assert {row.cells()[-1] for row in rows.values()} == {"-"}  # the package column never holds an error
    notes = fleet_notes(entries)
    assert notes == [
        "broken: not run: recipe.yaml:4:16: file '../models/model.py' does not exist",
        "gpu: not run: no CUDA device is visible",
        "late: recipe.yaml:9:5: the model has no output named 'logits'",
        "stopped: interrupted",
    ]
    markdown = fleet_markdown(entries)
    assert "| broken | not run: invalid recipe (exit 2) |" in markdown
    assert "- gpu: not run: no CUDA device is visible" in markdown


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
def test_three_recipes_locally_one_crashing(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    recipes = [str(p) for p in three_recipes(tmp_path)]
    result = run_cli(
        "optimize", *recipes, "--workspace", str(tmp_path / "fleet"), "--json",
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    runs = check_three_recipes(result, tmp_path / "fleet")
    assert runs["good"]["max_throughput"].startswith("onnx@onnxruntime-cpu (")  # with its speedup
    assert runs["good"]["selection"]["max-throughput"] == "onnx@onnxruntime-cpu"  # a single run's fields too
    table = summary.read_text()
    assert "| good | done (exit 0) |" in table and "| crash | done (exit 1) |" in table
    assert "3 recipes queued: good, crash, pair" in result.stderr


def test_a_recipe_whose_numbers_are_unreliable_says_so_under_the_fleet_table(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from navctl.report.fleet import fleet_markdown, fleet_notes
    from tests.helpers import hand_status

    entries = load_all([write_project(tmp_path / n, name=n) for n in ("quiet", "shared")], tmp_path / "fleet")
    for entry in entries:
        status = hand_status({}, name=entry.loaded.recipe.name)
        if entry.loaded.recipe.name == "shared":  # two recipes profiled at once on one node of a cluster
            status.profiling.unreliable = "other processes kept 1.3 of 2 cores busy while profiling"
        entry.state, entry.exit_code, entry.outcome = "done", 0, SimpleNamespace(status=status, package=None)
    assert fleet_notes(entries) == [
        "shared: numbers unreliable: the machine was busy (other processes kept 1.3 of 2 cores busy while profiling)"
    ]
    assert "- shared: numbers unreliable" in fleet_markdown(entries)
