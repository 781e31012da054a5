"""`navctl loadtest` against a real Triton server (PyTriton's) with tritonclient's asyncio driver, on
127.0.0.1, each point bounded to about a second."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import processes_running, run_cli

pytestmark = pytest.mark.slow
pytest.importorskip("pytriton")
pytest.importorskip("tritonclient.http")

KEY = "torch-export@torch-export-cpu"  # deployable on the Python backend, the one PyTriton's server has
SHORT = ["--duration", "1s", "--driver", "navctl"]


def _tritonservers() -> set[int]:
    return processes_running("tritonserver")


@pytest.fixture
def package(tiny_package: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tiny.nav"
    shutil.copy(tiny_package, copy)
    return copy


def _loadtest(package: Path, *args: str) -> dict:
    before = _tritonservers()
    result = run_cli("loadtest", str(package), "--format", KEY, "--json", *SHORT, *args, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert _tritonservers() <= before, "a Triton server outlived navctl loadtest"
    return json.loads(result.stdout)


def test_concurrency_sweep_and_a_budget_the_model_meets(package: Path) -> None:
    info = _loadtest(package, "--concurrency", "1,2,4", "--latency-budget", "10s", "--shape", "x:3x8")
    assert info["key"] == KEY and info["driver"].startswith("navctl")
    assert (info["shape_name"], info["shapes"], info["batch"]) == ("given", {"x": [3, 8]}, 3)  # --shape's batch
    assert info["answer"].endswith("; each request sent x [3, 8] (given shape)")
    (run,) = info["runs"]
    sweep = [p for p in run["points"] if p["mode"] == "concurrency"]
    assert [p["level"] for p in sweep] == [1, 2, 4]
    for point in run["points"] + [info["floor"]]:
        assert point["throughput"] > 0 and point["requests"] > 0
        assert point["p99_ms"] >= point["p50_ms"] > 0
        assert point["server"]["compute_ms"] > 0 and point["server"]["executions"] > 0
    # the budget search probed open-loop rates above what the closed loop reached
    assert any(p["mode"] == "request-rate" for p in run["points"])
    best = run["within_budget"]
    assert best is not None and best["p99_ms"] <= 10_000
    assert best["throughput"] == max(p["throughput"] for p in run["points"] if p["p99_ms"] <= 10_000)
    assert "within p99 10000 ms" in info["answer"]
    # recorded in the package, where `navctl status` shows it
    shown = run_cli("status", str(package))
    assert shown.returncode == 0 and "load test:" in shown.stdout, shown.stdout


def test_tuning_under_a_budget_nobody_meets_writes_the_best_config(package: Path, tmp_path: Path) -> None:
    info = _loadtest(
        package, "--concurrency", "4", "--tune", "--tune-delays", "700", "--tune-instances", "1", "--duration", "0.6s",
        "--latency-budget", "1us",
    )  # fmt: skip
    # no configuration met 1 us: the answer says so, with the lowest p99 any of them reached
    lowest = min(p["p99_ms"] for run in info["runs"] for p in run["points"])
    assert all(run["within_budget"] is None for run in info["runs"])
    assert f"no measured load kept p99 within {0.001:g} ms; the lowest p99 seen was {lowest:.3g} ms" in info["answer"]
    configs = [(r["config"]["dynamic_batching"], r["config"]["max_queue_delay_us"]) for r in info["runs"]]
    assert configs == [(False, 100), (True, 700)]
    best = info["best"]
    repo = tmp_path / "repo"
    written = run_cli("triton", str(package), "--repo", str(repo), "--name", "tiny", "--from-loadtest")
    assert written.returncode == 0, written.stderr
    config = (repo / "tiny" / "config.pbtxt").read_text()
    if best["dynamic_batching"]:
        assert "max_queue_delay_microseconds: 700" in config, config
    else:
        assert "dynamic_batching" not in config, config
    # that Triton loads what `navctl triton` writes: tests/triton/test_real_triton.py


def test_ctrl_c_stops_the_server_and_the_load(package: Path) -> None:
    before = _tritonservers()
    process = subprocess.Popen(
        [sys.executable, "-m", "navctl", "loadtest", str(package), "--format", KEY, "--concurrency", "1,2,4,8",
         "--duration", "4s", "--driver", "navctl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("driver floor"):
                break
        time.sleep(0.5)  # under load now
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output
    deadline = time.monotonic() + 15
    while _tritonservers() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _tritonservers() - before, "Triton kept running after Ctrl-C"


@pytest.mark.skipif(
    shutil.which("perf_analyzer") is None, reason="perf_analyzer is not on PATH (Triton SDK containers)"
)
def test_perf_analyzer_drives_the_same_sweep(package: Path) -> None:
    info = _loadtest(package, "--concurrency", "1,2", "--driver", "perf_analyzer")
    assert info["driver"] == "perf_analyzer"
    points = info["runs"][0]["points"]
    assert [p["level"] for p in points] == [1, 2]
    for point in points:
        assert point["throughput"] > 0 and point["p99_ms"] >= point["p50_ms"] > 0
