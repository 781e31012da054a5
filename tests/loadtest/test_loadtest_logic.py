"""The load test's logic in-process: the asyncio driver against coroutines that stand in for a server
(real event loop, real timing), Triton statistics arithmetic, perf_analyzer's CSV, the answer line."""

from __future__ import annotations

import asyncio

import pytest

from navctl.loadtest import driver, perf_analyzer
from navctl.loadtest.answer import answer
from navctl.loadtest.run import LoadtestOptions, tuning_grid
from navctl.loadtest.stats import split_between
from navctl.records.loadtest import LoadPoint, LoadtestInfo, LoadtestRun, ServingConfig


def test_closed_loop_measures_latency_at_the_client_and_settles() -> None:
    async def send() -> None:
        await asyncio.sleep(0.004)

    windows = asyncio.run(driver.closed_loop(send, concurrency=2, window_s=0.1, max_s=2.0, warmup_s=0.05))
    point = driver.summarize("concurrency", 2, windows, batch=3, split=None)
    assert point.requests > 0 and point.errors == 0
    assert 4.0 <= point.p50_ms <= point.p99_ms  # a request cannot answer before its 4 ms sleep
    # 2 in flight, 3 samples each: never more than 2 * 3 samples per 4 ms
    assert point.throughput <= 2 * 3 / 0.004
    assert point.windows >= driver.STABLE_WINDOWS


def test_failed_requests_are_counted_not_timed() -> None:
    async def send() -> None:
        await asyncio.sleep(0.001)
        raise ConnectionError("refused")

    windows = asyncio.run(driver.closed_loop(send, concurrency=1, window_s=0.05, max_s=0.3, warmup_s=0.0))
    point = driver.summarize("concurrency", 1, windows, batch=1, split=None)
    assert point.errors > 0 and point.requests == 0 and point.p99_ms is None
    assert not point.stable


def test_open_loop_drops_arrivals_past_the_in_flight_cap(monkeypatch) -> None:
    monkeypatch.setattr(driver, "MAX_IN_FLIGHT", 5)
    never = asyncio.Event

    async def send() -> None:
        await never().wait()  # a server that never answers

    windows = asyncio.run(driver.open_loop(send, rate=500, window_s=0.05, max_s=0.3, warmup_s=0.0))
    point = driver.summarize("request-rate", 500, windows, batch=1, split=None)
    assert point.requests == 0 and point.dropped > 0


def test_windows_agree_only_within_ten_percent() -> None:
    def window(count: int, latency: float) -> driver.Window:
        return driver.Window(completed=[latency] * count, seconds=1.0)

    assert driver.agree([window(100, 0.01), window(104, 0.0101), window(97, 0.0099)])
    assert not driver.agree([window(100, 0.01), window(130, 0.01), window(100, 0.01)])
    assert not driver.agree([window(100, 0.01), window(100, 0.01)])  # too few


def test_server_split_is_the_difference_of_two_reads() -> None:
    def read(success: int, queue_ns: int, infer_ns: int, executions: int) -> dict:
        return {
            "inference_count": success,
            "execution_count": executions,
            "inference_stats": {
                "success": {"count": success, "ns": 0},
                "queue": {"count": success, "ns": queue_ns},
                "compute_input": {"count": success, "ns": 0},
                "compute_infer": {"count": success, "ns": infer_ns},
                "compute_output": {"count": success, "ns": 0},
            },
        }

    split = split_between(read(10, 1_000_000, 5_000_000, 10), read(110, 21_000_000, 105_000_000, 35))
    assert split.queue_ms == pytest.approx(0.2) and split.compute_ms == pytest.approx(1.0)
    assert split.executions == 25 and split.avg_batch == pytest.approx(4.0)
    assert split_between(read(10, 0, 0, 1), read(10, 0, 0, 1)) is None


def test_perf_analyzer_csv_in_microseconds() -> None:
    text = (
        "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,"
        "Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency\n"
        "1,69.2,225,2148,64,206,11781,19,0,13891,18795,19753,21018\n"
    )
    (point,) = perf_analyzer.parse_csv(text, batch=1)
    assert point.mode == "concurrency" and point.level == 1 and point.throughput == pytest.approx(69.2)
    assert point.p50_ms == pytest.approx(13.891) and point.p99_ms == pytest.approx(21.018)
    assert point.server.queue_ms == pytest.approx(0.064) and point.server.compute_ms == pytest.approx(12.006)
    rate = perf_analyzer.parse_csv(text.replace("Concurrency", "Request Rate").replace("\n1,", "\n250,"), batch=1)
    assert rate[0].mode == "request-rate" and rate[0].level == 250
    cmd = perf_analyzer.command("m", "127.0.0.1:8000", "http", "request-rate", 250, 1, 1000, "/tmp/x.csv")
    assert cmd[cmd.index("--request-rate-range") + 1] == "250:250" and "poisson" in cmd


def _point(throughput: float, p99: float, level: float = 1) -> LoadPoint:
    return LoadPoint(
        mode="concurrency", level=level, requests=10, throughput=throughput, p50_ms=p99 / 2, p99_ms=p99, stable=True
    )


def test_the_answer_names_the_load_the_budget_allows_or_the_best_p99() -> None:
    config = ServingConfig()
    met = LoadtestInfo(
        key="onnx@onnxruntime-cpu",
        driver="navctl",
        latency_budget_ms=5,
        runs=[LoadtestRun(config=config, points=[_point(100, 2), _point(300, 9, 4)], within_budget=_point(100, 2))],
    )
    assert answer(met).startswith("onnx@onnxruntime-cpu: 100.0 infer/s within p99 5 ms")
    missed = met.model_copy(
        update={"latency_budget_ms": 0.001, "runs": [LoadtestRun(config=config, points=[_point(100, 2)])]}
    )
    assert answer(missed).endswith("no measured load kept p99 within 0.001 ms; the lowest p99 seen was 2 ms")


def test_without_a_batch_axis_tuning_tries_no_dynamic_batching_only() -> None:
    class Target:
        batching = False
        profiled_best = [8, 4, 1]

    grid = tuning_grid(LoadtestOptions(tune_delays_us=[0, 500]), Target())  # type: ignore[arg-type]
    assert [c.dynamic_batching for c in grid] == [False]
    Target.batching = True
    grid = tuning_grid(LoadtestOptions(tune_delays_us=[0, 500]), Target())  # type: ignore[arg-type]
    assert [(c.dynamic_batching, c.max_queue_delay_us, c.preferred_batch_sizes) for c in grid] == [
        (False, 100, []),
        (True, 0, [4, 8]),
        (True, 500, [4, 8]),
    ]
    # with --max-batch-size 4 the preferred sizes stay within it (navctl serve refuses 8 > 4)
    capped = LoadtestOptions(tune_delays_us=[0], batching=ServingConfig(max_batch_size=4))
    assert [c.preferred_batch_sizes for c in tuning_grid(capped, Target())] == [[], [4]]  # type: ignore[arg-type]


def test_preferred_batch_sizes_above_the_max_batch_size_are_refused() -> None:
    from navctl.errors import UsageError
    from navctl.triton.merging import check_preferred

    check_preferred([4, 8], 8)
    with pytest.raises(UsageError, match="--preferred-batch-size 16: above the max batch size 8"):
        check_preferred([4, 16], 8)
    with pytest.raises(UsageError, match="the model has no batch axis"):
        check_preferred([2], 0)


def test_a_package_whose_results_cannot_be_recorded_is_refused_before_the_load(tmp_path, monkeypatch, capsys) -> None:
    import errno
    import zipfile

    from navctl.cli.main import main
    from navctl.errors import UsageError

    package = tmp_path / "ro" / "base.nav"
    package.parent.mkdir()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("status.yaml", "a: 1\n")

    def refuse(folder) -> None:  # a read-only mount (os.access says yes to root, so the probe is faked)
        raise OSError(errno.EROFS, "Read-only file system")

    def reached(*args, **kwargs):
        raise UsageError("the load test ran")

    monkeypatch.setattr("navctl.destinations._probe", refuse)
    monkeypatch.setattr("navctl.loadtest.run.run_loadtest", reached)
    args = ["loadtest", str(package), "--concurrency", "1", "--duration", "1s"]
    assert main(args) == 4
    assert capsys.readouterr().err == (
        f"navctl: error: package {package}: cannot be written: Read-only file system\n"
        "hint: the load test writes its results into the package: --no-record skips that, "
        "or copy the package to a folder you may write\n"
    )
    assert main([*args, "--no-record"]) == 2  # nothing to write: the load test runs
    assert "the load test ran" in capsys.readouterr().err
