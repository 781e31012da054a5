"""Generation figures in selection, the results table, diff, and the recipe section's errors."""

from __future__ import annotations

from rich.console import Console

from navctl.generation.records import DecodePoint, GenerationCheck, GenerationResult, PrefillPoint
from navctl.profiling.selection import select
from navctl.recipe.models import Selection
from navctl.report.console import results_table
from navctl.report.diff import diff_status
from navctl.status import RunnerResult
from tests.helpers import hand_status, run_cli, write_project


def _gen(ttft: float, tps: float, passed: bool = True, vs: float = 1.0) -> GenerationResult:
    return GenerationResult(
        check=GenerationCheck(passed=passed, tokens_match=passed, prompts=2, new_tokens=4, atol=1e-4, rtol=1e-3),
        prefill=[PrefillPoint(prompt_length=8, ttft_ms=ttft, ttft_p90_ms=ttft, stable=True, windows=3)],
        decode=[
            DecodePoint(
                batch_size=1,
                prompt_length=8,
                decode_p50_ms=1000 / tps,
                decode_p90_ms=1000 / tps,
                decode_p99_ms=1000 / tps,
                tokens_per_s=tps,
                stable=True,
                steps=9,
            )
        ],
        side_by_side=True,
        vs_source={"ttft": 1.0, "tokens_per_s": vs},
    )


def _results(onnx_passed: bool = True, onnx_tps: float = 300.0, onnx_vs: float = 6.0) -> dict:
    return {
        "source@torch-cpu": RunnerResult(format="source", runner="torch-cpu", generation=_gen(5.0, 50.0)),
        "onnx@onnxruntime-cpu": RunnerResult(
            format="onnx", runner="onnxruntime-cpu", generation=_gen(0.5, onnx_tps, onnx_passed, onnx_vs)
        ),
        "openvino@openvino-cpu": RunnerResult(
            format="openvino", runner="openvino-cpu", generation=_gen(0.3, 100.0, vs=2.0)
        ),
    }


def test_report_markdown_and_html_show_the_generation_rows():
    """`navctl report` (report.md and report.html) and the GitHub summary hold the generation figures."""
    from pathlib import Path

    from navctl.report.html import single_page
    from navctl.report.markdown import markdown_summary
    from navctl.report.sources import ReportSource

    status = hand_status(_results())
    text = markdown_summary(status)
    assert "**Generation**" in text
    header = next(line for line in text.splitlines() if line.startswith("| format@runner | tokens"))
    assert header.split(" | ")[2:4] == ["ttft ms @8", "p50 ms @b1"]
    onnx = next(line for line in text.splitlines() if line.startswith("| onnx@onnxruntime-cpu | same"))
    assert "| 300 |" in onnx and "1.00x, 6.00x" in onnx  # tok/s and the same-round ratios
    page = single_page(ReportSource(Path("ws"), status))
    assert "<h3>Generation</h3>" in page
    assert page.index("<h3>Results</h3>") < page.index("<h3>Generation</h3>") < page.index("Throughput against")
    assert '<td class="num">300</td>' in page and "<td>openvino@openvino-cpu</td>" in page
    without = _results()["onnx@onnxruntime-cpu"].model_copy(update={"generation": None})
    plain = hand_status({"onnx@onnxruntime-cpu": without})
    assert "Generation" not in markdown_summary(plain) and "<h3>Generation</h3>" not in single_page(
        ReportSource(Path("ws"), plain)
    )


def test_generation_strategies_pick_from_checked_formats_only():
    chosen = select(_results(), Selection(), verify_required=False)
    assert chosen["min-time-to-first-token"] == "openvino@openvino-cpu"
    assert chosen["max-tokens-per-second"] == "onnx@onnxruntime-cpu"
    chosen = select(_results(onnx_passed=False), Selection(strategies=["max-tokens-per-second"]), False)
    assert chosen == {
        "max-tokens-per-second": "openvino@openvino-cpu",
        "min-time-to-first-token": "openvino@openvino-cpu",
    }
    assert select({}, Selection(), False) == {"max-throughput": None, "min-latency": None}  # no decoder: as before


def test_results_table_shows_the_generation_figures():
    console = Console(width=200, record=True)
    console.print(results_table(hand_status(_results())))
    text = console.export_text()
    assert "generation (greedy; side by side" in text
    assert "ttft ms @8" in text and "tok/s @b1" in text
    assert "onnx@onnxruntime-cpu" in text and "6.00x" in text


def test_diff_flags_tokens_that_stop_matching_and_slower_decoding():
    rows = {r.key: r for r in diff_status(hand_status(_results()), hand_status(_results(False, 150.0, 3.0)), 5.0)}
    onnx = rows["generation onnx@onnxruntime-cpu"]
    assert onnx.regressions == ["generated tokens no longer match the source", "tokens per second -50.0%"]
    assert onnx.throughput_change_pct == -50.0 and onnx.basis == "relative"
    assert rows["generation openvino@openvino-cpu"].regressions == []


def test_a_bad_generation_section_is_a_recipe_error(tmp_path):
    recipe = write_project(tmp_path, generation={"max_new_tokens": 0, "batch_sizes": []})
    result = run_cli("validate", str(recipe))
    assert result.returncode == 2, result.stderr
    assert "generation.max_new_tokens" in result.stderr and "recipe.yaml:" in result.stderr
    assert "Traceback" not in result.stderr
    typo = write_project(tmp_path / "typo", generation={"max_new_token": 4})
    result = run_cli("validate", str(typo))
    assert result.returncode == 2 and "max_new_tokens" in result.stderr  # did you mean


def test_a_decode_steps_selection_is_not_shown_beside_the_forward_passs_check():
    # onnx's forward pass failed its check while its decode step passed and was chosen for decoding: its
    # row read 'failed ... selected: max-tokens-per-second'; the selection lines under the tables say it
    from navctl.report.summary import result_rows

    selection = {"max-throughput": "openvino@openvino-cpu", "max-tokens-per-second": "onnx@onnxruntime-cpu"}
    status = hand_status(_results(), selection=selection)
    rows = {f"{r.format}@{r.runner}": r.selected_by for r in result_rows(status)}
    assert rows["onnx@onnxruntime-cpu"] == [] and rows["openvino@openvino-cpu"] == ["max-throughput"]
