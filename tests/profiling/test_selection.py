from __future__ import annotations

from navctl.profiling.selection import behind_source, close_calls, select
from navctl.recipe.models import Selection
from navctl.records.results import CorrectnessResult, ProfileRecord, RunnerResult, VerifyResult


def _record(batch: int, throughput: float, p50: float, p95: float | None = None) -> ProfileRecord:
    p95 = p95 if p95 is not None else p50 * 1.2
    return ProfileRecord(
        batch_size=batch,
        mean_ms=p50,
        p50_ms=p50,
        p90_ms=p95,
        p95_ms=p95,
        p99_ms=p95,
        throughput=throughput,
        cv=0.1,
        stable=True,
        requests=100,
    )


def _result(fmt: str, runner: str, records, passed: bool = True, verified: bool | None = None) -> RunnerResult:
    return RunnerResult(
        format=fmt,
        runner=runner,
        correctness=CorrectnessResult(passed=passed),
        profile=records,
        verify=VerifyResult(passed=verified) if verified is not None else None,
    )


RESULTS = {
    "source@torch-cpu": _result("source", "torch-cpu", [_record(1, 1000, 0.5), _record(64, 90000, 0.7)]),
    # fastest at batch 1
    "onnx@onnxruntime-cpu": _result("onnx", "onnxruntime-cpu", [_record(1, 5000, 0.2), _record(64, 50000, 1.3)]),
    # highest throughput, but slow per request
    "openvino@openvino-cpu": _result("openvino", "openvino-cpu", [_record(1, 2000, 0.5), _record(64, 80000, 0.8)]),
    # incorrect: never chosen however fast
    "torchscript-trace@torchscript-cpu": _result(
        "torchscript-trace", "torchscript-cpu", [_record(1, 99999, 0.01), _record(64, 999999, 0.06)], passed=False
    ),
}


def test_max_throughput_and_min_latency_pick_different_winners() -> None:
    chosen = select(RESULTS, Selection(strategies=["max-throughput", "min-latency"]), verify_required=False)
    assert chosen == {"max-throughput": "openvino@openvino-cpu", "min-latency": "onnx@onnxruntime-cpu"}


def test_budget_strategy_uses_the_chosen_percentile() -> None:
    settings = Selection(
        strategies=["max-throughput-within-latency-budget"], latency_budget_ms=1.0, latency_percentile="p95"
    )
    # openvino's batch-64 p95 is 0.96 ms (inside), onnx's is 1.56 ms (outside)
    assert select(RESULTS, settings, False) == {"max-throughput-within-latency-budget": "openvino@openvino-cpu"}
    tight = settings.model_copy(update={"latency_budget_ms": 0.3})
    assert select(RESULTS, tight, False) == {"max-throughput-within-latency-budget": "onnx@onnxruntime-cpu"}
    none = settings.model_copy(update={"latency_budget_ms": 0.001})
    assert select(RESULTS, none, False) == {"max-throughput-within-latency-budget": None}


def test_pin_only_when_the_candidate_is_correct() -> None:
    pinned = Selection(strategies=[], pin="onnx@onnxruntime-cpu")
    assert select(RESULTS, pinned, False) == {"pinned": "onnx@onnxruntime-cpu"}
    wrong = Selection(strategies=[], pin="torchscript-trace@torchscript-cpu")
    assert select(RESULTS, wrong, False) == {"pinned": None}


def test_verification_is_required_when_the_recipe_verifies() -> None:
    results = dict(RESULTS)
    results["onnx@onnxruntime-cpu"] = results["onnx@onnxruntime-cpu"].model_copy(
        update={"verify": VerifyResult(passed=True)}
    )
    results["openvino@openvino-cpu"] = results["openvino@openvino-cpu"].model_copy(
        update={"verify": VerifyResult(passed=False, message="top-1 differs")}
    )
    chosen = select(results, Selection(strategies=["max-throughput"]), verify_required=True)
    assert chosen == {"max-throughput": "onnx@onnxruntime-cpu"}


def test_best_by_batch_size_follows_the_measured_winner() -> None:
    from navctl.profiling.selection import best_by_batch_size

    assert best_by_batch_size(RESULTS, False) == {"1": "onnx@onnxruntime-cpu", "64": "openvino@openvino-cpu"}


def test_source_is_never_selected() -> None:
    only_source = {"source@torch-cpu": RESULTS["source@torch-cpu"]}
    assert select(only_source, Selection(strategies=["max-throughput"]), False) == {"max-throughput": None}


def test_a_peak_seen_only_in_noisy_windows_is_not_picked_over_stable_figures() -> None:
    noisy_peak = _record(64, 120000, 0.5).model_copy(update={"stable": False})
    results = {
        **RESULTS,
        "onnx@onnxruntime-cpu": _result("onnx", "onnxruntime-cpu", [_record(1, 5000, 0.2), noisy_peak]),
    }
    chosen = select(results, Selection(strategies=["max-throughput"]), verify_required=False)
    assert chosen == {"max-throughput": "openvino@openvino-cpu"}  # 80,000 stable beats 120,000 unstable
    all_noisy = {
        "onnx@onnxruntime-cpu": _result("onnx", "onnxruntime-cpu", [noisy_peak]),
        "openvino@openvino-cpu": _result(
            "openvino", "openvino-cpu", [_record(64, 80000, 0.8).model_copy(update={"stable": False})]
        ),
    }
    # with nothing stable anywhere, the figures are all there is (and the run says so under the table)
    assert select(all_noisy, Selection(strategies=["max-throughput"]), False) == {
        "max-throughput": "onnx@onnxruntime-cpu"
    }


def _spread(record: ProfileRecord, pct: float) -> ProfileRecord:
    return record.model_copy(update={"spread_pct": pct})


def _pair(ahead: list[ProfileRecord], behind: list[ProfileRecord]) -> dict[str, RunnerResult]:
    return {
        "onnx@onnxruntime-cpu": _result("onnx", "onnxruntime-cpu", ahead),
        "openvino@openvino-cpu": _result("openvino", "openvino-cpu", behind),
    }


def _calls(results: dict[str, RunnerResult], strategies: list[str], floor_pct: float = 5.0, **settings) -> dict:
    chosen_by = Selection(strategies=strategies, **settings)
    return close_calls(results, chosen_by, False, select(results, chosen_by, False), floor_pct)


def test_a_winner_ahead_by_less_than_the_noise_is_a_close_call_naming_both_figures() -> None:
    results = _pair([_spread(_record(64, 102000, 0.6), 3.0)], [_spread(_record(64, 100000, 0.64), 1.0)])
    assert _calls(results, ["max-throughput"]) == {
        "max-throughput": "onnx@onnxruntime-cpu leads openvino@openvino-cpu by 2.0% (102,000/s at batch 64 "
        "against 100,000/s at batch 64), within the measurements' noise (5%): a rerun may pick either"
    }
    # the floor is the sweep's own smallest gain that counts; a noisier figure raises it
    assert _calls(results, ["max-throughput"], floor_pct=1.0)["max-throughput"].endswith(
        "noise (3%): a rerun may pick either"
    )
    noisy = _pair([_spread(_record(64, 110000, 0.6), 12.0)], [_spread(_record(64, 100000, 0.64), 3.0)])
    assert "by 10.0%" in _calls(noisy, ["max-throughput"])["max-throughput"]


def test_a_clear_lead_or_a_single_candidate_is_no_close_call() -> None:
    clear = _pair([_spread(_record(64, 150000, 0.4), 3.0)], [_spread(_record(64, 100000, 0.64), 3.0)])
    assert _calls(clear, ["max-throughput"]) == {}
    alone = {"onnx@onnxruntime-cpu": clear["onnx@onnxruntime-cpu"]}
    assert _calls(alone, ["max-throughput", "min-latency"]) == {}
    # an incorrect runner-up is no candidate: no call against it
    wrong = {**clear, "openvino@openvino-cpu": _result("openvino", "openvino-cpu", [_record(64, 149000, 0.4)], False)}
    assert _calls(wrong, ["max-throughput"]) == {}


def test_min_latency_and_the_budget_strategy_compare_the_figures_they_chose_by() -> None:
    results = _pair(
        [_spread(_record(1, 5000, 0.200), 1.0), _spread(_record(8, 30000, 0.27), 1.0)],
        [_spread(_record(1, 4900, 0.205), 1.0), _spread(_record(8, 20000, 0.40), 1.0)],
    )
    calls = _calls(results, ["min-latency", "max-throughput-within-latency-budget"], latency_budget_ms=0.35)
    assert set(calls) == {"min-latency"}  # within the budget, onnx's batch 8 beats openvino's batch 1 by 6x
    assert "by 2.5% (p50 0.2 ms at batch 1 against p50 0.205 ms at batch 1)" in calls["min-latency"]


def _behind(results: dict[str, RunnerResult], strategies: list[str], floor_pct: float = 5.0) -> dict:
    chosen_by = Selection(strategies=strategies)
    return behind_source(results, chosen_by, select(results, chosen_by, False), floor_pct)


def test_a_winner_slower_than_the_source_beyond_the_noise_says_so_and_the_note_shows_it() -> None:
    from navctl.report.notes import run_notes
    from tests.helpers import hand_status

    behind = _behind(RESULTS, ["max-throughput", "min-latency"])
    # openvino's 80,000/s is the best made, the source reached 90,000/s: 12.5% behind, over the 5% floor
    assert behind == {
        "max-throughput": "openvino@openvino-cpu, the best format made, is 12% behind the source model (80,000/s at "
        "batch 64 against 90,000/s at batch 64), beyond the measurements' noise (5%): your model as it is serves faster"
    }  # min-latency's winner (onnx, p50 0.2 ms) beats the source's 0.5 ms: nothing to say
    status = hand_status(RESULTS, selection={"max-throughput": "openvino@openvino-cpu"})
    status.selection_behind_source = behind
    assert any(n.startswith("slower than the source for max-throughput: openvino") for n in run_notes(status))
    # the same rounds' ratio, where both were measured at that size, decides over the raw figures
    drifted = dict(RESULTS)
    ov = RESULTS["openvino@openvino-cpu"]
    drifted["openvino@openvino-cpu"] = ov.model_copy(
        update={"profile": [ov.profile[0], ov.profile[1].model_copy(update={"vs_reference": 1.02})]}
    )
    assert _behind(drifted, ["max-throughput"]) == {}


def test_a_lag_within_the_noise_or_without_a_source_figure_says_nothing() -> None:
    noisy = dict(RESULTS)
    noisy["source@torch-cpu"] = RESULTS["source@torch-cpu"].model_copy(
        update={"profile": [_record(1, 1000, 0.5), _spread(_record(64, 90000, 0.7), 15.0)]}
    )
    assert _behind(noisy, ["max-throughput"]) == {}  # 12.5% behind, but the source's windows spread 15%
    no_source = {k: r for k, r in RESULTS.items() if not k.startswith("source@")}
    assert _behind(no_source, ["max-throughput", "min-latency"]) == {}
