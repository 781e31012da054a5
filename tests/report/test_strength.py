"""Checks that prove little are flagged wherever results are read: the results table, its notes, the
Markdown summary (report.md and the GitHub step summary) and the JSON rows."""

from __future__ import annotations

import io

from rich.console import Console

from navctl.records.results import CorrectnessResult, OutputError, RunnerResult, VerifyResult
from navctl.report.console import results_table
from navctl.report.markdown import markdown_summary
from navctl.report.notes import run_notes
from navctl.report.summary import result_rows, row_cells, shows_accuracy
from navctl.status import EnvironmentInfo, RecipeInfo, RunInfo, Status, ToolInfo

WEAK = (
    "the pass proves little: the error (rms 0.0058) is 104% of how much the output changes with the input "
    "(input_spread 0.0056)"
)


def _output(**fields) -> OutputError:
    return OutputError(max_abs=0.02, max_rel=0.01, atol=None, rtol=None, passed=True, **fields)


def _status(verify_weak: bool) -> Status:
    strong = RunnerResult(
        format="onnx",
        runner="onnxruntime-cpu",
        correctness=CorrectnessResult(passed=True, outputs={"logits": _output(cosine=1.0, top1=1.0)}),
        verify=VerifyResult(passed=True, perturbed_passed=verify_weak, proves_little=verify_weak),
    )
    weak = RunnerResult(
        format="onnx-int8",
        runner="onnxruntime-cpu",
        correctness=CorrectnessResult(
            passed=True,
            precision="int8",
            proves_little=True,
            warnings=[f"output 'logits': {WEAK}"],
            outputs={
                "logits": _output(cosine=0.9999, top1=1.0, top1_baseline=31 / 32, proves_little=True, warning=WEAK)
            },
        ),
        verify=VerifyResult(passed=True, perturbed_passed=True, proves_little=True),
    )
    return Status(
        tool=ToolInfo(version="0.1.0"),
        recipe=RecipeInfo(path="r.yaml", sha256="x", name="resnet"),
        environment=EnvironmentInfo(python="3.11", platform="linux", cpu="cpu", threads=2),
        run=RunInfo(started_at="2026-01-01T00:00:00+00:00"),
        results={"onnx@onnxruntime-cpu": strong, "onnx-int8@onnxruntime-cpu": weak},
    )


def test_a_weak_pass_is_marked_in_the_table_and_explained_in_the_notes() -> None:
    status = _status(verify_weak=False)
    rows = {f"{r.format}@{r.runner}": r for r in result_rows(status)}
    weak, strong = rows["onnx-int8@onnxruntime-cpu"], rows["onnx@onnxruntime-cpu"]
    assert weak.proves_little and weak.as_dict()["proves_little"] and not strong.proves_little
    cells = row_cells(weak, shows_accuracy(list(rows.values())))
    assert "passed (weak)" in cells and "cos 0.9999, top-1 100.0% (baseline 97%)" in cells
    assert row_cells(strong, True)[3] == "passed"
    notes = run_notes(status)
    note = f"correctness (onnx-int8@onnxruntime-cpu): output 'logits': {WEAK}"
    assert note in notes
    assert any(n.startswith("verify: onnx-int8@onnxruntime-cpu passed, and so did a copy of the") for n in notes)

    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(results_table(status, width=200))
    assert "passed (weak)" in out.getvalue()
    summary = markdown_summary(status)
    assert "| passed (weak) |" in summary and f"> **{note}**" in summary


def test_a_verify_that_passes_every_format_and_the_perturbed_reference_is_called_weak_once() -> None:
    notes = run_notes(_status(verify_weak=True))
    verify = [n for n in notes if n.startswith("verify:")]
    assert verify == [
        "verify: every format passed, and so did a copy of the reference perturbed by about its input-driven "
        "spread: the verify function cannot tell them apart, so its pass proves little"
    ]
