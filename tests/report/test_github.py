"""GitHub-native output in-process: annotations on the recipe's lines, step outputs, the step summary."""

from __future__ import annotations

from pathlib import Path

from navctl.engine.api import RunOutcome
from navctl.engine.fleet import FleetEntry
from navctl.recipe.load import load_recipe
from navctl.records.results import CorrectnessResult, RunnerResult
from navctl.report.github import annotation, publish_fleet, publish_run, run_annotations, set_outputs
from navctl.status import EXCUSED_MARK, StepRecord
from tests.helpers import hand_status, write_project


def _status_with_failures():
    steps = {
        "samples": StepRecord(kind="samples", state="ok"),
        "export/torchscript-script": StepRecord(
            kind="export", state="failed", reason=f"cannot script ({EXCUSED_MARK}: torchscript-trace was made)"
        ),
        "export/torchscript-trace": StepRecord(kind="export", state="ok"),
        "correctness/onnx@onnxruntime-cpu": StepRecord(
            kind="correctness", state="failed", reason="max abs error 0.3 > atol", log="steps/c/correctness.log"
        ),
        "correctness/onnx-int8@onnxruntime-cpu": StepRecord(kind="correctness", state="rejected", reason="cosine 0.9"),
        "profile/source@torch-cpu": StepRecord(kind="profile", state="timeout", reason="no result after 60s"),
        "profile/onnx@onnxruntime-cpu": StepRecord(kind="profile", state="skipped", reason="correctness failed"),
    }
    trace = RunnerResult(
        format="torchscript-trace", runner="torchscript-cpu", correctness=CorrectnessResult(passed=True)
    )
    return hand_status(
        {"torchscript-trace@torchscript-cpu": trace},
        name="tiny",
        steps=steps,
        selection={"max-throughput": "torchscript-trace@torchscript-cpu"},
    )


def _lines(recipe: Path) -> dict[str, int]:
    return {text.strip(): i for i, text in enumerate(recipe.read_text().splitlines(), 1)}


def test_each_announced_step_is_annotated_on_the_line_that_asked_for_it(tmp_path: Path, monkeypatch) -> None:
    recipe = write_project(tmp_path, targets=["torchscript", "onnx", "int8"])
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    lines = _lines(recipe)
    found = run_annotations(_status_with_failures(), recipe, ["torchscript", "onnx", "int8"])
    assert found[0] == (
        f"::warning file=recipe.yaml,line={lines['- torchscript']},title=navctl tiny%3A torchscript-script failed::"
        f"export/torchscript-script failed: cannot script ({EXCUSED_MARK}: torchscript-trace was made)"
    )
    assert found[1].startswith(f"::error file=recipe.yaml,line={lines['- onnx']},title=navctl tiny%3A onnx failed::")
    assert found[2].startswith(
        f"::warning file=recipe.yaml,line={lines['- int8']},title=navctl tiny%3A onnx-int8 rejected"
    )
    assert found[3].startswith(f"::error file=recipe.yaml,line={lines['model:']},title=navctl tiny%3A source timeout")
    assert len(found) == 4  # the skipped step follows from the failure and is not announced again


def test_workflow_commands_and_outputs_are_escaped_as_github_reads_them(tmp_path: Path, monkeypatch) -> None:
    assert annotation("error", "50% slower\nsee log", file="a,b:c.yaml", line=3, title="x: y") == (
        "::error file=a%2Cb%3Ac.yaml,line=3,title=x%3A y::50%25 slower%0Asee log"
    )
    output = tmp_path / "out"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    set_outputs({"exit-code": "1", "package": "a.nav\nb.nav"})
    lines = output.read_text().splitlines()
    assert lines[0] == "exit-code=1" and lines[1].startswith("package<<navctl_")
    assert lines[2:4] == ["a.nav", "b.nav"] and lines[4] == lines[1].split("<<")[1]


def test_a_run_and_a_fleet_publish_outputs_summary_and_annotations(tmp_path: Path, monkeypatch, capsys) -> None:
    output, summary = tmp_path / "out", tmp_path / "summary.md"
    github = {
        "GITHUB_OUTPUT": output,
        "GITHUB_STEP_SUMMARY": summary,
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": tmp_path,
    }
    for name, value in github.items():
        monkeypatch.setenv(name, str(value))
    recipe = write_project(tmp_path / "a", name="a", targets=["torchscript", "onnx", "int8"])
    (tmp_path / "a" / "ws" / "steps" / "c").mkdir(parents=True)
    (tmp_path / "a" / "ws" / "steps" / "c" / "correctness.log").write_text("computing\nAssertionError: 0.3 > 1e-4\n")
    outcome = RunOutcome(_status_with_failures(), None, tmp_path / "a" / "ws", tmp_path / "a.nav", 1)
    publish_run(outcome, recipe, ["torchscript", "onnx", "int8"])
    assert output.read_text().splitlines() == [
        "exit-code=1",
        f"package={tmp_path / 'a.nav'}",
        f"workspace={tmp_path / 'a' / 'ws'}",
        "selected-max-throughput=torchscript-trace@torchscript-cpu",
    ]
    text = summary.read_text()
    assert "<details><summary><code>correctness/onnx@onnxruntime-cpu</code> failed (fails the run)</summary>" in text
    assert "AssertionError: 0.3 > 1e-4" in text
    assert "<code>export/torchscript-script</code> failed (does not fail the run)" in text
    assert capsys.readouterr().err.count("::error ") == 2

    output.unlink()
    summary.unlink()
    other = write_project(tmp_path / "b", name="b")
    entries = [
        FleetEntry(load_recipe(recipe), None, None, state="done", exit_code=1, outcome=outcome),
        FleetEntry(load_recipe(other), None, None, state="unschedulable", exit_code=4, error="no node has a GPU"),
    ]
    publish_fleet(entries, 4, "## navctl fleet: 2 recipes\n\n")
    values = output.read_text()
    assert "exit-code=4" in values and f"package={tmp_path / 'a.nav'}" in values
    assert "selected-max-throughput=a: torchscript-trace@torchscript-cpu" in values
    text = summary.read_text()
    assert text.startswith("## navctl fleet: 2 recipes") and "<details><summary>a: exit 1</summary>" in text
    err = capsys.readouterr().err
    assert "::error file=b/recipe.yaml::b unschedulable: no node has a GPU" in err
    assert "::warning file=a/recipe.yaml,line=" in err


def test_the_console_lists_the_failures_that_fail_the_run_under_the_table() -> None:
    from navctl.report.console import failure_lines

    lines = failure_lines(_status_with_failures(), ["torchscript", "onnx", "int8"])
    # excused and rejected steps are in the notes; the skipped one follows from its cause
    assert lines == [
        "correctness/onnx@onnxruntime-cpu failed: max abs error 0.3 > atol; log: steps/c/correctness.log",
        "profile/source@torch-cpu timeout: no result after 60s",
    ]


def test_the_consoles_failure_lines_give_log_paths_to_open_from_the_current_folder(tmp_path: Path, monkeypatch) -> None:
    from navctl.report.console import failure_lines

    workspace = tmp_path / "runs" / "ws"
    failed = _status_with_failures()
    failed.steps["export/onnx"] = StepRecord(
        kind="export",
        state="failed",
        reason="ONNX export failed; log: steps/export/onnx/export.log",
        log="steps/export/onnx/export.log",
    )
    monkeypatch.chdir(tmp_path)  # below here: relative to it
    lines = failure_lines(failed, ["torchscript", "onnx", "int8"], workspace)
    assert (
        "correctness/onnx@onnxruntime-cpu failed: max abs error 0.3 > atol; log: runs/ws/steps/c/correctness.log"
        in lines
    )
    assert "export/onnx failed: ONNX export failed; log: runs/ws/steps/export/onnx/export.log" in lines
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # outside the current folder: absolute
    lines = failure_lines(failed, ["torchscript", "onnx", "int8"], workspace)
    assert f"export/onnx failed: ONNX export failed; log: {workspace}/steps/export/onnx/export.log" in lines
