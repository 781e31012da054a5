"""Per-shape figures in the results table, the step summary, the report and --json: a runner profiled at
two shapes gets a line per shape, its main line at the shape selection compares at."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from navctl.contract.records import AxisRange, TensorMeta
from navctl.records.results import CorrectnessResult, ProfileRecord, RunnerResult
from navctl.report.console import results_table
from navctl.report.markdown import markdown_summary
from navctl.report.notes import run_notes
from navctl.report.summary import result_rows
from navctl.status import EnvironmentInfo, RecipeInfo, RunInfo, Status, ToolInfo

SEQ = AxisRange(axis=1, symbol="seq", min=16, typical=16, max=32, samples_min=16, samples_max=32)
BATCH = AxisRange(axis=0, symbol="batch", min=1, typical=2, max=64, samples_min=2, samples_max=2)


def _record(shape: str, length: int, batch: int, throughput: float, p50: float, vs: float | None) -> ProfileRecord:
    return ProfileRecord(
        batch_size=batch, mean_ms=p50, p50_ms=p50, p90_ms=p50, p95_ms=p50 * 1.5, p99_ms=p50 * 2,
        throughput=throughput, cv=0.05, stable=True, requests=50, vs_reference=vs, shape_name=shape,
        shapes={"input_ids": [batch, length]},
    )  # fmt: skip


def _status() -> Status:
    def result(fmt: str, runner: str, scale: float) -> RunnerResult:
        vs = scale if fmt != "source" else 1.0
        return RunnerResult(
            format=fmt,
            runner=runner,
            correctness=CorrectnessResult(passed=True),
            profile=[
                _record("typical", 16, 1, 1000 * scale, 1.0 / scale, vs),
                _record("typical", 16, 4, 3000 * scale, 1.3 / scale, vs),
            ],
            profile_shapes=[
                _record("max", 32, 1, 600 * scale, 1.7 / scale, vs),
                _record("max", 32, 4, 1500 * scale, 2.7 / scale, vs * 0.9),
            ],
        )

    return Status(
        tool=ToolInfo(version="0.1.0"),
        recipe=RecipeInfo(path="r.yaml", sha256="x", name="decoder"),
        environment=EnvironmentInfo(python="3.11", platform="linux", cpu="cpu", threads=2),
        run=RunInfo(started_at="2026-01-01T00:00:00+00:00"),
        inputs=[TensorMeta(name="input_ids", dtype="int64", shape=[-1, -1], axes=[BATCH, SEQ])],
        results={
            "source@torch-cpu": result("source", "torch-cpu", 1.0),
            "onnx@onnxruntime-cpu": result("onnx", "onnxruntime-cpu", 4.0),
        },
        selection={"max-throughput": "onnx@onnxruntime-cpu"},
    )


def test_each_runner_gets_a_line_per_shape_in_every_rendering() -> None:
    status = _status()
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(results_table(status, width=200))
    lines = [line for line in console.export_text().splitlines() if "│" in line]
    onnx = next(i for i, line in enumerate(lines) if "onnxruntime-cpu" in line)
    assert "typical 16" in lines[onnx] and "12,000" in lines[onnx] and "4.00x" in lines[onnx]
    below = lines[onnx + 1]
    assert "max 32" in below and "6,000" in below and "3.60x" in below and "0.425" in below
    assert "passed" not in below  # a shape line holds the shape's own figures only
    markdown = markdown_summary(status)
    assert "| onnx | onnxruntime-cpu | typical 16 | passed |" in markdown
    assert "|  |  | max 32 |  |  | 6,000 | 4 | 0.425 | 0.637 | 3.60x |  |  |" in markdown
    notes = run_notes(status)
    assert notes[0] == ("shapes: sizes of seq (input_ids axis 1): 16..32, typical 16; selection compares at typical 16")
    (row,) = [r for r in result_rows(status) if r.format == "onnx"]
    assert [(f.shape, f.best_batch, f.best_throughput) for f in row.other_shapes] == [("max 32", 4, 6000.0)]
    assert row.as_dict()["other_shapes"][0]["speedup"] == pytest.approx(3.6)


def test_a_single_shape_keeps_the_table_as_it_was() -> None:
    status = _status()
    for result in status.results.values():
        result.profile_shapes = []
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(results_table(status, width=200))
    text = console.export_text()
    assert "shape" not in text and "typical" not in text
    assert not any(note.startswith("shapes:") for note in run_notes(status))


def test_the_report_plots_and_tabulates_every_shape(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from navctl.report.plot import write_report

    report, plot, *_ = write_report(_status(), tmp_path)
    text = report.read_text()
    assert "| shape | batch | throughput (/s) |" in text
    assert "| max 32 | 4 | 6,000 |" in text and "| typical 16 | 1 | 4,000 |" in text
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_diff_warns_when_the_runs_measured_different_shapes() -> None:
    from navctl.report.comparability import comparability_warnings

    base, new = _status(), _status()
    assert comparability_warnings(base, new) == []
    for result in new.results.values():
        for record in result.profile:
            record.shapes = {"input_ids": [record.batch_size, 24]}
    assert comparability_warnings(base, new) == [
        "the figures are at different input shapes: input_ids [b, 16] vs input_ids [b, 24]"
    ]
