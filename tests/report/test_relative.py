"""The regression gate on speeds relative to the source model, and a results table that agrees with itself."""

from __future__ import annotations

import json
from pathlib import Path

from navctl.cli.main import main
from navctl.records.results import CorrectnessResult, RunnerResult
from navctl.report.diff import diff_status, verdict_caveat
from navctl.report.notes import run_notes
from navctl.report.summary import result_rows, row_cells
from navctl.report.tables import diff_cells
from navctl.status import Status
from tests.helpers import hand_status, profile_point, status_package


def _run(source: list[tuple[int, float]], onnx: list[tuple[int, float, float | None]], unreliable: str = "") -> Status:
    """A run of the source model and onnx: (batch, throughput) and (batch, throughput, same-round ratio)."""
    results = {
        "source@torch-cpu": RunnerResult(
            format="source",
            runner="torch-cpu",
            correctness=CorrectnessResult(passed=True),
            profile=[profile_point(b, t, p50=b / t * 1000, vs=1.0) for b, t in source],
        ),
        "onnx@onnxruntime-cpu": RunnerResult(
            format="onnx",
            runner="onnxruntime-cpu",
            correctness=CorrectnessResult(passed=True),
            profile=[profile_point(b, t, p50=b / t * 1000, vs=vs) for b, t, vs in onnx],
        ),
    }
    status = hand_status(results, selection={"max-throughput": "onnx@onnxruntime-cpu"})
    status.profiling.unreliable = unreliable
    return status


BASE = _run([(1, 50.0), (8, 100.0)], [(1, 100.0, 2.0), (8, 200.0, 2.0)])
# the same code on a runner 40% slower: every raw figure drops, the ratios do not
SLOWER_RUNNER = _run([(1, 30.0), (8, 60.0)], [(1, 60.0, 2.0), (8, 120.0, 2.0)])


def test_a_slower_runner_is_no_regression_against_the_source_measured_alongside() -> None:
    rows = {r.key: r for r in diff_status(BASE, SLOWER_RUNNER, threshold_pct=5)}
    onnx = rows["onnx@onnxruntime-cpu"]
    assert onnx.regressions == [] and onnx.basis == "relative"
    assert onnx.throughput_change_pct == -40.0  # the raw figures, reported beside
    assert (onnx.base_vs_source, onnx.new_vs_source, onnx.vs_source_change_pct) == (2.0, 2.0, 0.0)
    assert onnx.speed_batch == 8 and onnx.latency_batch == 1
    source = rows["source@torch-cpu"]
    assert source.basis == "reference" and source.regressions == []
    assert "raw throughput moved -40.0%" in source.caveats[0]
    raw = {r.key: r for r in diff_status(BASE, SLOWER_RUNNER, threshold_pct=5, basis="raw")}
    assert raw["onnx@onnxruntime-cpu"].regressions == ["throughput -40.0%", "p50 latency +66.7%"]


def test_a_format_that_lost_ground_on_the_source_is_a_regression_with_its_raw_figures() -> None:
    worse = _run([(1, 30.0), (8, 60.0)], [(1, 45.0, 1.5), (8, 96.0, 1.6)])
    onnx = {r.key: r for r in diff_status(BASE, worse, threshold_pct=5)}["onnx@onnxruntime-cpu"]
    assert onnx.regressions == [
        "speed vs source -20.0% at batch 8 (2.00x -> 1.60x; raw throughput -52.0%)",
        "latency vs source +33.3% at batch 1 (raw p50 +122.2%)",
    ]
    cells = diff_cells(onnx)
    assert cells[5:8] == ["2.00x @8", "1.60x", "-20.0%"]


def test_without_same_round_ratios_the_gate_falls_back_to_raw_figures_and_says_so() -> None:
    alone = _run([(8, 100.0)], [(8, 200.0, None)])
    slower = _run([(8, 60.0)], [(8, 120.0, None)])
    onnx = {r.key: r for r in diff_status(alone, slower, threshold_pct=5)}["onnx@onnxruntime-cpu"]
    assert onnx.basis == "raw" and onnx.regressions == ["throughput -40.0%", "p50 latency +66.7%"]
    assert onnx.caveats == ["raw figures: no same-round ratio to the source model in one of the runs"]


def test_the_verdict_names_the_run_flagged_unreliable() -> None:
    noisy = _run([(1, 30.0), (8, 60.0)], [(1, 60.0, 2.0), (8, 120.0, 2.0)], unreliable="8 of 10 points unstable")
    rows = diff_status(BASE, noisy, threshold_pct=5)
    assert verdict_caveat(BASE, noisy, rows) == (
        "the verdict rests on a run flagged unreliable: new (8 of 10 points unstable)"
    )
    assert verdict_caveat(BASE, SLOWER_RUNNER, rows) == ""


def test_diff_cli_gates_on_relative_speed_by_default(tmp_path: Path, capsys) -> None:
    base = status_package(tmp_path / "base.nav", BASE)
    slower = status_package(tmp_path / "slower.nav", SLOWER_RUNNER)
    assert main(["diff", str(base), str(slower), "--fail-on-regression", "5%"]) == 0
    assert "0 regression(s) beyond 5% (speeds against the source model" in capsys.readouterr().out
    assert main(["diff", str(base), str(slower), "--fail-on-regression", "5%", "--compare", "raw"]) == 1
    capsys.readouterr()
    assert main(["diff", str(base), str(slower), "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["onnx@onnxruntime-cpu"]["new_vs_source"] == 2.0


def test_the_results_table_shows_why_a_speedup_disagrees_with_the_figures_beside_it() -> None:
    # the source's rounds at batch 64 were slow while the format's kept windows came later and faster:
    # 145/s beside a source at 30/s, yet 0.98x in the rounds both were measured in
    drifted = _run([(1, 33.0), (64, 30.0)], [(1, 30.0, 0.97), (64, 145.0, 0.98)])
    rows = {f"{r.format}@{r.runner}": r for r in result_rows(drifted)}
    onnx = rows["onnx@onnxruntime-cpu"]
    assert onnx.speedup == 0.98 and round(onnx.raw_speedup, 2) == 4.83
    assert "0.98x (raw 4.83x)" in row_cells(onnx)
    assert any(n.startswith("speedup (raw ...): onnx@onnxruntime-cpu and the source model") for n in run_notes(drifted))
    agreeing = {f"{r.format}@{r.runner}": r for r in result_rows(BASE)}["onnx@onnxruntime-cpu"]
    assert agreeing.raw_speedup is None and "2.00x" in row_cells(agreeing)


def test_a_runner_stopped_early_for_being_slower_is_named_under_the_table() -> None:
    status = _run([(1, 50.0), (2, 80.0)], [(1, 100.0, 2.0), (2, 160.0, 2.0)])
    status.results["onnx@onnxruntime-cpu"].profile_stopped = "throughput gain under 5% for 2 sizes in a row"
    assert not any("stopped early" in n for n in run_notes(status))  # saturation is the sweep's normal end
    why = "slower than trace@torchscript-cpu at every size measured (1, 2): by 40% or more, over its own noise"
    status.results["onnx@onnxruntime-cpu"].profile_stopped = why
    assert f"onnx@onnxruntime-cpu: sweep stopped early, {why}" in run_notes(status)


def test_a_speedup_without_a_same_round_ratio_is_taken_at_one_batch_size_or_not_at_all() -> None:
    # the source stopped at batch 2 (it crashed at 8); onnx's best is at 8: 1.4M/s over 96k/s at 2 was shown
    stopped = _run([(1, 60_000.0), (2, 96_000.0)], [(1, 300_000.0, None), (2, 360_000.0, None), (8, 1_400_000.0, None)])
    rows = {r.format: r for r in result_rows(stopped)}
    assert rows["onnx"].best_batch == 8 and rows["onnx"].speedup is None
    both = _run([(1, 60_000.0), (8, 100_000.0)], [(1, 300_000.0, None), (8, 1_400_000.0, None)])
    assert {r.format: r for r in result_rows(both)}["onnx"].speedup == 14.0  # the same batch: the raw ratio
