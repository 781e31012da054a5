"""report.html: the Pareto frontier, the sections a page holds, the fleet page, and the page as a real
headless Chromium renders it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from navctl.cli.main import main
from navctl.contract.records import Artifact
from navctl.records.loadtest import LoadPoint, LoadtestInfo, LoadtestRun, ServingConfig
from navctl.records.results import CorrectnessResult, OutputError, RunnerResult, VerifyResult
from navctl.report.html import fleet_page, single_page
from navctl.report.pareto import frontier, operating_points
from navctl.report.sources import ReportSource
from navctl.status import Status, StepRecord
from tests.helpers import hand_status, profile_point, status_package

ONNX_FILE = {"onnx/model.onnx": b"0" * 4096}  # a package's model file: the report shows its size


def _output(max_abs: float, **extra) -> OutputError:
    return OutputError(
        max_abs=max_abs, max_rel=0.0, atol=1e-4, rtol=1e-3, passed=max_abs < 1e-3, ref_max_abs=2.0, **extra
    )


def _run(unreliable: str = "") -> Status:
    """source, onnx (fast), openvino (fast at batch 1 only), torch-export (slower everywhere, so off the
    frontier), a failed torchscript export, with timeline records and a load test."""

    def result(fmt: str, runner: str, points, correct: bool = True, **outputs) -> RunnerResult:
        checked = CorrectnessResult(passed=correct, outputs=outputs or {"logits": _output(1e-6)})
        return RunnerResult(format=fmt, runner=runner, correctness=checked, profile=points, peak_rss_mb=200.0)

    results = {
        "source@torch-cpu": result("source", "torch-cpu", [profile_point(1, 100, 10), profile_point(8, 400, 20)]),
        "onnx@onnxruntime-cpu": result(
            "onnx", "onnxruntime-cpu", [profile_point(1, 300, 3.3, 3.0), profile_point(8, 1600, 5, 4.0, stable=False)]
        ),
        "openvino@openvino-cpu": result(
            "openvino",
            "openvino-cpu",
            [profile_point(1, 500, 2, 5.0), profile_point(8, 900, 9, 2.2)],
            logits=_output(1e-6, proves_little=True, input_spread=0.5),
        ),
        "torch-export@torch-export-cpu": result(
            "torch-export", "torch-export-cpu", [profile_point(1, 150, 6.7, 1.5), profile_point(8, 500, 16, 1.2)]
        ),
    }
    results["onnx@onnxruntime-cpu"].verify = VerifyResult(passed=True)
    steps = {
        "samples": StepRecord(kind="samples", state="ok", duration_s=0.5, started_s=0.0),
        "export/onnx": StepRecord(
            kind="export",
            state="ok",
            duration_s=1.0,
            started_s=0.5,
            artifacts=[Artifact(path="onnx/model.onnx", sha256="x")],
        ),
        "export/torchscript-script": StepRecord(
            kind="export", state="failed", duration_s=0.4, started_s=0.5, reason="cannot script it", log="s/x.log"
        ),
        "profile/onnx@onnxruntime-cpu": StepRecord(kind="profile", state="ok", duration_s=3.0, started_s=1.5),
    }
    status = hand_status(
        results,
        name="mlp",
        steps=steps,
        selection={"max-throughput": "onnx@onnxruntime-cpu", "min-latency": "openvino@openvino-cpu"},
    )
    status.profiling.unreliable = unreliable
    point = LoadPoint(mode="concurrency", level=4, requests=100, throughput=900, p50_ms=3, p99_ms=8, stable=True)
    status.loadtest = LoadtestInfo(
        key="onnx@onnxruntime-cpu",
        driver="navctl",
        latency_budget_ms=10,
        runs=[LoadtestRun(config=ServingConfig(), points=[point])],
        answer="onnx@onnxruntime-cpu: 900 infer/s within p99 10 ms",
    )
    return status


def _failed_run() -> Status:
    """A run in which nothing was made: the samples step crashed."""
    steps = {"samples": StepRecord(kind="samples", state="crashed", reason="SIGSEGV; log: steps/samples/samples.log")}
    return hand_status({}, name="broken", steps=steps)


def test_the_frontier_keeps_the_candidates_nothing_beats_on_both_figures() -> None:
    points = operating_points(_run())
    front = [(p.key, p.batch) for p in frontier(points)]
    # openvino @1 answers quickest; onnx @1 is slower than it and no faster; onnx @8 is the fastest
    assert front == [("openvino@openvino-cpu", 1), ("onnx@onnxruntime-cpu", 8)]
    assert all(p.candidate is (not p.key.startswith("source@")) for p in points)  # the source is no candidate


def _source(status: Status, files: dict[str, int] | None = None) -> ReportSource:
    return ReportSource(Path("ws"), status, files or {"onnx/model.onnx": 3 * 2**20})


def test_a_page_holds_every_section_and_marks_an_unreliable_run_on_every_chart() -> None:
    page = single_page(_source(_run(unreliable="the reference's speed moved -40%")))
    svgs = re.findall(r"<svg xmlns.*?</svg>", page, re.S)
    # p50 and p99 frontiers, memory, artifact size, timeline, load test
    assert len(svgs) == 6
    assert all("numbers unreliable: the reference&#x27;s speed moved -40%" in s for s in svgs)
    assert (
        page.count('class="frontier"') == 2 and "selected: max-throughput" in page and "selected: min-latency" in page
    )
    assert 'fill="#fff" stroke="#4e79a7"' in page or 'fill="#fff"' in page  # the unstable onnx point, hollow
    assert "3 MB" in page and "export/torchscript-script: failed (fails the run)" in page
    assert "proves little (input spread 0.5)" in page
    assert "onnx@onnxruntime-cpu: 900 infer/s within p99 10 ms" in page and "budget 10 ms" in page
    assert "Intel" not in page and "test cpu, 2 thread(s) per runner" in page
    # offline: nothing to fetch
    assert not re.search(r"""(src|href)=["'](?!#)""", page) and "url(" not in page and "<script" not in page


def test_a_failed_run_and_a_fleet_still_make_a_page() -> None:
    page = single_page(_source(_failed_run(), {}))
    assert "No format produced results in this run." in page and "samples: crashed (fails the run)" in page
    fleet = fleet_page([_source(_run()), _source(_failed_run(), {}), _source(_run("8 of 10 unstable"))])
    assert fleet.count('<a href="#model-') == 3 and fleet.count("<details id=") == 3
    assert "onnx@onnxruntime-cpu (4.00x)" in fleet and "numbers unreliable" in fleet
    assert "not profiled" in fleet  # the broken model's row


def test_report_takes_several_targets_or_a_folder_of_them(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    status_package(runs / "mlp.nav", _run(), ONNX_FILE)
    broken = _failed_run()
    broken.run.started_at = "2026-01-02T00:00:00+00:00"
    status_package(runs / "broken.nav", broken, ONNX_FILE)
    assert main(["report", str(runs), "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "navctl report: 2 models" in page and "4 KB" in page
    assert (tmp_path / "out" / "mlp" / "report.md").is_file() and (tmp_path / "out" / "broken" / "report.md").is_file()
    assert main(["report", str(runs / "mlp.nav"), "--out", str(tmp_path / "one")]) == 0
    assert "navctl report: mlp" in (tmp_path / "one" / "report.html").read_text()
    assert main(["report", str(tmp_path / "nothing-here")]) == 2


# ----- in a real browser ---------------------------------------------------------------------------
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    return found


def _render(page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )


def _console(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def _variety(png: Path) -> tuple[int, float]:
    """Distinct colours, and the share of pixels that are not white."""
    import numpy as np

    pixels = np.asarray(pytest.importorskip("PIL.Image").open(png).convert("RGB")).reshape(-1, 3)
    return len(np.unique(pixels, axis=0)), float((pixels != 255).any(axis=1).mean())


@pytest.mark.slow
def test_chromium_renders_the_pages_without_console_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>throw new Error('on purpose')</script></body></html>")
    shot = tmp_path / "broken.png"
    assert any("on purpose" in line for line in _console(_render(broken, f"--screenshot={shot}")))  # it can fail
    pages = {
        "unreliable": single_page(_source(_run(unreliable="the reference's speed moved -40%"))),
        "failed": single_page(_source(_failed_run(), {})),
        "fleet": fleet_page([_source(_run()), _source(_failed_run(), {})]),
    }
    for name, text in pages.items():
        page = tmp_path / f"{name}.html"
        page.write_text(text)
        shot = tmp_path / f"{name}.png"
        result = _render(page, f"--screenshot={shot}", "--window-size=1280,1800", "--hide-scrollbars")
        assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
        assert _console(result) == [], result.stderr[-2000:]
        colours, inked = _variety(shot)
        assert colours > 50 and inked > {"failed": 0.005, "fleet": 0.02}.get(name, 0.05), (name, colours, inked)
    dom = _render(tmp_path / "unreliable.html", "--dump-dom").stdout  # as the browser parsed it
    assert dom.count('class="frontier"') == 2 and dom.count("<svg") >= 6


def test_the_png_says_when_the_run_is_unreliable(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import numpy as np

    from navctl.report.plot import write_plot

    def reddish_top(status: Status) -> int:
        """Pixels of the warning's colour in the strip above the plot's own title."""
        png = write_plot(status, tmp_path / "plot.png")
        pixels = np.asarray(pytest.importorskip("PIL.Image").open(png).convert("RGB")).astype(int)[:30]
        return int((np.abs(pixels - [192, 57, 43]).sum(axis=2) < 90).sum())

    assert reddish_top(_run()) == 0 and reddish_top(_run(unreliable="8 of 10 points unstable")) > 100
