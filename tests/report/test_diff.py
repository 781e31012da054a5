from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from navctl.cli.main import main
from navctl.records.results import CorrectnessResult, ProfileRecord, RunnerResult
from navctl.report.comparability import comparability_warnings
from navctl.report.diff import diff_status, parse_percent
from navctl.status import EnvironmentInfo, RecipeInfo, RunInfo, Status, ToolInfo
from tests.helpers import status_package


def _status(throughput: float, p50: float, correct: bool = True, extra: bool = True) -> Status:
    def rec(batch: int, tp: float, lat: float) -> ProfileRecord:
        return ProfileRecord(
            batch_size=batch,
            mean_ms=lat,
            p50_ms=lat,
            p90_ms=lat,
            p95_ms=lat,
            p99_ms=lat,
            throughput=tp,
            cv=0.05,
            stable=True,
            requests=50,
        )

    results = {
        "onnx@onnxruntime-cpu": RunnerResult(
            format="onnx",
            runner="onnxruntime-cpu",
            correctness=CorrectnessResult(passed=correct),
            profile=[rec(1, throughput / 10, p50), rec(8, throughput, p50 * 2)],
        )
    }
    if extra:
        results["torch-export@torch-export-cpu"] = RunnerResult(
            format="torch-export",
            runner="torch-export-cpu",
            correctness=CorrectnessResult(passed=True),
            profile=[rec(1, 100.0, 1.0)],
        )
    return Status(
        tool=ToolInfo(version="0.1.0"),
        recipe=RecipeInfo(path="r.yaml", sha256="x", name="demo"),
        environment=EnvironmentInfo(python="3.11", platform="linux", cpu="cpu", threads=2),
        run=RunInfo(started_at="2026-01-01T00:00:00+00:00"),
        results=results,
        selection={"max-throughput": "onnx@onnxruntime-cpu"},
    )


def test_diff_flags_drops_beyond_the_threshold() -> None:
    rows = {r.key: r for r in diff_status(_status(1000, 1.0), _status(900, 1.2), threshold_pct=5)}
    onnx = rows["onnx@onnxruntime-cpu"]
    assert onnx.throughput_change_pct == pytest.approx(-10.0)
    assert onnx.latency_change_pct == pytest.approx(20.0)
    assert onnx.regressions == ["throughput -10.0%", "p50 latency +20.0%"]
    assert rows["torch-export@torch-export-cpu"].regressions == []
    within = diff_status(_status(1000, 1.0), _status(970, 1.03), threshold_pct=5)
    assert not any(r.regressions for r in within)


def test_diff_flags_lost_correctness_and_missing_formats() -> None:
    rows = {r.key: r for r in diff_status(_status(1000, 1.0), _status(1000, 1.0, correct=False, extra=False), 5)}
    assert rows["onnx@onnxruntime-cpu"].regressions == ["no longer correct"]
    assert rows["torch-export@torch-export-cpu"].regressions == ["missing from the new run"]


def test_parse_percent() -> None:
    assert parse_percent("5%") == 5 and parse_percent("2.5") == 2.5
    with pytest.raises(ValueError):
        parse_percent("five")


def test_diff_cli_exit_codes(tmp_path: Path, capsys) -> None:
    base = status_package(tmp_path / "base.nav", _status(1000, 1.0))
    slower = status_package(tmp_path / "new.nav", _status(800, 1.0))
    assert main(["diff", str(base), str(slower)]) == 0  # report only
    assert main(["diff", str(base), str(slower), "--fail-on-regression", "5%"]) == 1
    assert main(["diff", str(base), str(slower), "--fail-on-regression", "25%"]) == 0
    capsys.readouterr()
    assert main(["diff", str(base), str(slower), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["regressions"] == 1 and doc["rows"][0]["key"] == "onnx@onnxruntime-cpu"
    assert main(["diff", str(base), str(slower), "--fail-on-regression", "lots"]) == 2


def test_diff_warns_when_runs_are_not_comparable(tmp_path: Path, capsys) -> None:
    base = _status(1000, 1.0)
    same = _status(1000, 1.0)
    assert comparability_warnings(base, same) == []
    other = _status(1000, 1.0)
    other.environment.threads = 8
    other.environment.cpu = "another cpu"
    other.environment.packages = {"onnxruntime": "1.99"}
    other.recipe.sha256 = "y"
    other.profiling.unreliable = "the reference's speed moved -40% between the start and the end"
    warnings = comparability_warnings(base, other)
    assert "different thread counts: 2 vs 8" in warnings
    assert "different CPUs: cpu vs another cpu" in warnings
    assert "different library versions: onnxruntime - -> 1.99" in warnings
    assert "the recipe changed between the runs (different sha256)" in warnings
    assert any("new run's numbers are flagged unreliable" in w for w in warnings)
    from navctl.status import UserFileRecord

    base.user_files = [UserFileRecord(path="model.py", sha256="a"), UserFileRecord(path="data.py", sha256="d")]
    other.user_files = [UserFileRecord(path="model.py", sha256="b"), UserFileRecord(path="data.py", sha256="d")]
    assert "your files changed between the runs: model.py" in comparability_warnings(base, other)
    code = main(
        [
            "diff",
            str(status_package(tmp_path / "a.nav", base)),
            str(status_package(tmp_path / "b.nav", other)),
            "--json",
        ]
    )
    assert code == 0
    assert "different thread counts: 2 vs 8" in json.loads(capsys.readouterr().out)["warnings"]


def test_report_writes_markdown_and_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    package = status_package(tmp_path / "run.nav", _status(1000, 1.0))
    assert main(["report", str(package), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "| onnx | onnxruntime-cpu | passed |" in text and "### onnx@onnxruntime-cpu" in text
    png = (tmp_path / "out" / "latency_throughput.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_results_table_never_cuts_names_or_numbers() -> None:
    from rich.console import Console

    from navctl.report.console import results_table

    status = _status(123456.0, 0.0123)
    for width in (60, 80, 100, 200):
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(results_table(status, width=width))
        text = console.export_text()
        assert "…" not in text, text
        assert "torch-export-cpu" in text and "onnxruntime-cpu" in text, text
        assert "123,456" in text and "max-throughput" in text, text
    assert "p50 ms @1" in text  # the batch size the latency columns are at


def test_step_summary_names_machine_counts_and_unreliable_numbers() -> None:
    from navctl.report.markdown import markdown_summary
    from navctl.status import StepRecord

    status = _status(1000.0, 1.0)
    status.steps = {
        "samples": StepRecord(kind="samples", state="cached"),
        "export/onnx": StepRecord(kind="export", state="ok"),
        "correctness/onnx@onnxruntime-cuda": StepRecord(kind="correctness", state="unavailable"),
    }
    status.profiling.unreliable = "8 of 10 measurements were unstable"
    text = markdown_summary(status)
    assert "cpu, 2 threads, GPU: none" in text
    assert "Steps: 1 cached, 1 ok, 1 unavailable" in text
    assert "reused from an earlier run" in text
    assert "numbers unreliable: the machine was busy (8 of 10 measurements were unstable)" in text


def _loadtested(status: Status, served: float, p99: float) -> Status:
    from navctl.records.loadtest import LoadPoint, LoadtestInfo, LoadtestRun, ServingConfig

    point = LoadPoint(
        mode="concurrency", level=4, requests=100, throughput=served, p50_ms=p99 / 2, p99_ms=p99, stable=True
    )
    config = ServingConfig()
    status.loadtest = LoadtestInfo(
        key="onnx@onnxruntime-cpu",
        driver="navctl",
        latency_budget_ms=20,
        runs=[LoadtestRun(config=config, points=[point], within_budget=point)],
        best=config,
        answer=f"onnx@onnxruntime-cpu: {served} infer/s within p99 20 ms",
    )
    return status


def test_load_test_results_are_diffed_reported_and_shown(tmp_path: Path, capsys) -> None:
    base = status_package(tmp_path / "base.nav", _loadtested(_status(1000, 1.0), served=400, p99=10))
    worse = status_package(tmp_path / "new.nav", _loadtested(_status(1000, 1.0), served=300, p99=10))
    assert main(["diff", str(base), str(worse), "--fail-on-regression", "5%", "--json"]) == 1
    rows = {row["key"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["served onnx@onnxruntime-cpu"]["regressions"] == ["served throughput -25.0%"]
    assert main(["status", str(worse)]) == 0
    assert "load test: onnx@onnxruntime-cpu: 300 infer/s within p99 20 ms" in capsys.readouterr().out
    pytest.importorskip("matplotlib")
    assert main(["report", str(worse), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Load test" in text and "| 4 in flight | 300 |" in text
    assert (tmp_path / "out" / "loadtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_drop_in_agreement_with_the_source_is_a_regression_whatever_the_speed() -> None:
    from navctl.records.results import OutputError

    def gated(top1: float, cos: float) -> Status:
        status = _status(1000.0, 1.0, extra=False)
        output = OutputError(max_abs=0.1, max_rel=0.1, atol=None, rtol=None, passed=True, cosine=cos, top1=top1)
        status.results["onnx@onnxruntime-cpu"].correctness = CorrectnessResult(
            passed=True, precision="int8", outputs={"logits": output}
        )
        return status

    (same,) = diff_status(gated(0.995, 0.999), gated(0.990, 0.9985), threshold_pct=5.0)
    assert same.regressions == [] and same.new_top1 == 0.990  # within a point and a thousandth
    (worse,) = diff_status(gated(0.995, 0.999), gated(0.970, 0.990), threshold_pct=5.0)
    assert worse.regressions == ["top-1 agreement 99.5% -> 97.0%", "cosine 0.9990 -> 0.9900"]
