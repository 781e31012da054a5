from __future__ import annotations

import itertools

import pytest

from navctl.profiling.measure import MeasureSettings, measure, profile_record
from navctl.profiling.rules import (
    auto_batch_sizes,
    clearly_slower,
    sweep_stop_reason,
    throughput_ceiling,
    window_done,
    window_spread_pct,
    windows_stable,
)
from navctl.profiling.sweep import is_out_of_memory, sweep


def test_windows_stable_needs_enough_windows_within_the_percentage() -> None:
    assert not windows_stable([100, 100], windows=3, stability_pct=10)
    assert windows_stable([50, 100, 104, 96], windows=3, stability_pct=10)
    assert not windows_stable([100, 130, 100], windows=3, stability_pct=10)
    assert windows_stable([100, 108, 100], windows=3, stability_pct=10)
    assert not windows_stable([0, 0, 0], windows=3, stability_pct=10)


def _stops(throughputs: list[float], predict: bool = False, **rule) -> bool:
    points = [(2**i, t) for i, t in enumerate(throughputs)]
    return bool(sweep_stop_reason(points, **{"gain_pct": 5, "patience": 2, **rule}, predict=predict))


def test_sweep_stops_at_the_second_miss_in_a_row_by_default() -> None:
    assert not _stops([100, 200, 400])
    assert not _stops([100, 200, 202])  # one miss goes on
    assert _stops([100, 200, 202, 203])  # the second ends it (patience 2, as documented)
    assert sweep_stop_reason([(1, 100), (2, 200), (4, 202), (8, 203)], 5, 2) == (
        "throughput gain under 5% for 2 sizes in a row"
    )
    # a late gain resets the count
    assert not _stops([100, 200, 202, 300, 301])
    # falling throughput counts as no gain
    assert _stops([100, 90, 80])
    # patience counts the misses that end it: 3 waits for a third, 1 and 0 end at the first
    assert not _stops([100, 200, 202, 203], patience=3)
    assert _stops([100, 200, 202, 203, 204], patience=3)
    assert _stops([100, 100], patience=1)
    assert _stops([100, 100], patience=0)


def test_a_gain_within_the_points_own_noise_is_a_miss() -> None:
    # ONNX Runtime on a ResNet-18: 79, 79, 94, 89, then 101/s at 16 (+7% on the best, windows 8% apart)
    points = [(1, 79.0), (2, 79.0), (4, 94.0), (8, 89.0), (16, 101.0)]
    noisy = {1: 3.0, 2: 2.0, 4: 4.0, 8: 3.0, 16: 8.0}
    assert sweep_stop_reason(points, 5, 2, noise_pct=noisy) == (
        "throughput gain under 5% for 2 sizes in a row (+7% at batch 16 is within its noise (8%))"
    )
    # without the noise, or with windows closer than the gain (3% apart), the same +7% is a gain
    assert sweep_stop_reason(points, 5, 2) == ""
    assert sweep_stop_reason(points, 5, 2, noise_pct={**noisy, 16: 3.0}) == ""
    # nor does it raise the bar: the next size is judged against the best figure before it
    # (ORT on a ResNet-18 went 91, 102 (windows 13% apart), 104/s: +2% on 102, +15% on 91; it goes on)
    resnet = [(1, 90.9), (2, 101.8), (4, 104.3)]
    assert sweep_stop_reason(resnet, 5, 2, noise_pct={1: 2.0, 2: 13.0, 4: 3.0}) == ""
    assert sweep_stop_reason(resnet + [(8, 106.0)], 5, 2, noise_pct={1: 2.0, 2: 13.0, 4: 3.0, 8: 1.0}) == ""
    assert sweep_stop_reason(resnet + [(8, 106.0), (16, 107.0)], 5, 2, noise_pct={2: 13.0}).startswith(
        "throughput gain under 5% for 2 sizes in a row"
    )
    # a gain clear of its noise resets the count as before
    assert sweep_stop_reason([(1, 100.0), (2, 101.0), (4, 120.0)], 5, 2, noise_pct={4: 8.0}) == ""


def test_a_patient_sweep_stops_at_the_second_miss_when_latency_grows_linearly_past_it() -> None:
    # latency 1 ms + 1 ms/sample: 500, 667, 800, 889, 941, 970, 985 /s towards a ceiling of 1000/s
    sizes = (1, 2, 4, 8, 16, 32, 64)
    linear = [(b, b / (1.0 + b) * 1000) for b in sizes]
    # 32 misses the 5% gain, but the ceiling is still 3% above it; at 64 the rest is under 2.5%
    assert sweep_stop_reason(linear[:6], 5, 3, predict=True) == ""
    reason = sweep_stop_reason(linear, 5, 3, predict=True)
    assert "levels off" in reason and "past batch 32" in reason and "1,000/s" in reason
    # the same points without the prediction wait for the third miss
    assert sweep_stop_reason(linear, 5, 3, predict=False) == ""
    # a dip far below the best never ends a sweep by prediction, and a miss still growing goes on
    assert not _stops([100, 200, 150], predict=True, patience=5)
    assert not _stops([100, 200, 209], predict=True, patience=5)  # its line tends to 219/s, 9% above the best
    # throughput at its ceiling already (no fixed cost left): the second miss ends it, whatever the patience
    assert not _stops([1000, 1002], predict=True, patience=5)
    assert _stops([1000, 1002, 1003], predict=True, patience=5)


def test_throughput_ceiling_is_the_inverse_cost_per_sample() -> None:
    assert throughput_ceiling((8, 8 / 0.005), (16, 16 / 0.009)) == pytest.approx(2000.0)
    assert throughput_ceiling((8, 1000.0), (16, 3000.0)) is None  # latency fell: nothing to predict
    assert throughput_ceiling((16, 1000.0), (8, 900.0)) is None


def test_auto_batch_sizes() -> None:
    assert auto_batch_sizes(1) == [1]
    assert auto_batch_sizes(64) == [1, 2, 4, 8, 16, 32, 64]
    assert auto_batch_sizes(48) == [1, 2, 4, 8, 16, 32, 48]


class FakeClock:
    """Each infer() advances time by a scripted amount; the clock itself costs nothing."""

    def __init__(self, costs) -> None:
        self.now = 0.0
        self.costs = iter(costs)

    def __call__(self) -> float:
        return self.now

    def infer(self) -> None:
        self.now += next(self.costs)


def test_measure_stops_as_soon_as_windows_agree() -> None:
    clock = FakeClock(itertools.repeat(0.001))
    settings = MeasureSettings(warmup_s=0.01, window_ms=10, windows=3, stability_pct=10, max_trials=10)
    record = measure(clock.infer, 4, settings, clock=clock)
    assert record.stable
    assert record.requests == 30  # 3 windows x 10 requests of 1 ms
    assert record.p50_ms == pytest.approx(1.0)
    assert record.throughput == pytest.approx(4000.0)
    assert record.cv == pytest.approx(0.0, abs=1e-9)


def test_measure_keeps_an_unstable_result() -> None:
    # alternating fast and slow windows never agree within 10 %
    costs = itertools.cycle([0.001] * 10 + [0.003] * 10)
    clock = FakeClock(costs)
    settings = MeasureSettings(warmup_s=0.0, window_ms=10, windows=3, stability_pct=10, max_trials=4)
    record = measure(clock.infer, 1, settings, clock=clock)
    assert not record.stable
    assert record.requests > 0 and record.p99_ms >= record.p50_ms


def test_out_of_memory_detection() -> None:
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_out_of_memory(RuntimeError("[ONNXRuntimeError] Failed to allocate memory for requested buffer"))
    assert not is_out_of_memory(ValueError("shapes do not match"))


def test_sweep_records_out_of_memory_and_keeps_earlier_sizes() -> None:
    settings = MeasureSettings(warmup_s=0.0, window_ms=1, windows=2, stability_pct=90, max_trials=2)

    def make(size: int):
        if size > 2:
            raise MemoryError("out of memory")
        return lambda: sum(range(100))

    result = sweep(make, [1, 2, 4, 8], settings, auto=False, gain_pct=5, patience=2)
    assert [r.batch_size for r in result.records] == [1, 2]
    assert result.stopped.startswith("out of memory at batch size 4")


def test_sweep_raises_other_errors_and_oom_at_the_first_size() -> None:
    settings = MeasureSettings(warmup_s=0.0, window_ms=1, windows=2, stability_pct=90, max_trials=2)
    with pytest.raises(MemoryError):
        sweep(lambda size: (_ for _ in ()).throw(MemoryError("oom")), [1, 2], settings, False, 5, 2)

    def bad(size: int):
        if size > 1:
            raise ValueError("broken at batch 2")
        return lambda: None

    with pytest.raises(ValueError):
        sweep(bad, [1, 2], settings, False, 5, 2)


def test_a_window_ends_at_five_requests_or_at_a_tenth_of_a_second() -> None:
    assert not window_done(4, 0.09, window_s=0.025)  # fast requests: five of them
    assert window_done(5, 0.09, window_s=0.025)
    assert not window_done(5, 0.02, window_s=0.025)  # and the window's length
    # slow requests: whatever ran in 0.1 s, one at least
    assert not window_done(3, 0.099, window_s=0.025)
    assert window_done(2, 0.12, window_s=0.025)
    assert window_done(1, 1.0, window_s=0.025)
    assert not window_done(0, 10.0, window_s=0.025)


def test_slow_requests_measure_few_per_window_and_judge_stability_over_windows() -> None:
    # a 0.04 s request: five per window cost 0.2 s, three cost 0.12 s; three windows that agree are kept
    clock = FakeClock(itertools.repeat(0.04))
    settings = MeasureSettings(warmup_s=0.0, window_ms=25, windows=3, stability_pct=10, max_trials=10)
    record = measure(clock.infer, 64, settings, clock=clock)
    assert record.stable and record.requests == 9
    assert record.throughput == pytest.approx(1600.0)
    # a 1 s request: one a window, three windows
    clock = FakeClock(itertools.repeat(1.0))
    record = measure(clock.infer, 64, settings, clock=clock)
    assert record.stable and record.requests == 3 and record.throughput == pytest.approx(64.0)
    # windows that disagree (a slow window, then fast ones) are not stable until three agree
    costs = itertools.chain([0.2] + [0.4] * 2, itertools.repeat(0.2))
    clock = FakeClock(costs)
    record = measure(clock.infer, 64, settings, clock=clock)
    assert record.stable and record.requests == 3 and record.mean_ms == pytest.approx(200.0)


def test_window_spread_is_the_farthest_window_from_the_mean() -> None:
    assert window_spread_pct([100, 100, 100]) == pytest.approx(0.0)
    assert window_spread_pct([90, 100, 110]) == pytest.approx(10.0)
    assert window_spread_pct([]) == 0.0


def test_a_runner_clearly_slower_at_every_size_may_stop() -> None:
    others = {"onnx@onnxruntime-cpu": {1: 200.0, 2: 300.0, 4: 400.0}, "trace@torchscript-cpu": {1: 90.0, 2: 140.0}}
    # 100 vs 200, 150 vs 300: twice as slow, with 3% noise
    reason = clearly_slower([(1, 100.0, 3.0), (2, 150.0, 3.0)], others, floor_pct=5)
    assert reason.startswith("slower than onnx@onnxruntime-cpu at every size measured (1, 2): by 100%")
    # one size is not enough: runtimes batch differently
    assert clearly_slower([(1, 100.0, 3.0)], others, floor_pct=5) == ""
    # within its own noise at one size: no stop (noise 60% at batch 2, the gap 100%: still clear; 120%: not)
    assert clearly_slower([(1, 100.0, 3.0), (2, 150.0, 60.0)], others, floor_pct=5) != ""
    assert clearly_slower([(1, 100.0, 3.0), (2, 150.0, 120.0)], others, floor_pct=5) == ""
    # a difference under the floor (the sweep's gain) is no evidence, whatever the noise
    near = {"onnx@onnxruntime-cpu": {1: 104.0, 2: 156.0}}
    assert clearly_slower([(1, 100.0, 0.5), (2, 150.0, 0.5)], near, floor_pct=5) == ""
    # faster than the others at one size: goes on
    assert clearly_slower([(1, 100.0, 3.0), (2, 350.0, 3.0)], others, floor_pct=5) == ""
    # a size no other candidate measured: nothing to compare, goes on
    assert clearly_slower([(1, 100.0, 3.0), (8, 150.0, 3.0)], others, floor_pct=5) == ""
    # the best may differ by size: both are named
    mixed = {"a@x": {1: 300.0, 2: 200.0}, "b@y": {1: 200.0, 2: 400.0}}
    assert "slower than a@x / b@y at every size" in clearly_slower([(1, 100.0, 1.0), (2, 100.0, 1.0)], mixed, 5)


def test_an_early_stop_names_the_unstable_sizes_it_left_out() -> None:
    others = {"onnx@onnxruntime-cpu": {1: 200.0, 2: 300.0, 4: 400.0}}
    reason = clearly_slower([(2, 150.0, 3.0), (4, 180.0, 3.0)], others, floor_pct=5, unstable=[1])
    assert reason.startswith(
        "slower than onnx@onnxruntime-cpu at every size measured stably (2, 4; unstable at 1): by "
    )
    # the stable sizes still need to number two: one stable size beside unstable ones is not enough
    assert clearly_slower([(2, 150.0, 3.0)], others, floor_pct=5, unstable=[1, 4]) == ""


def test_a_sweep_whose_rule_fires_at_its_last_size_records_no_stop(monkeypatch) -> None:
    import navctl.profiling.sweep as sweep_module

    def fixed(infer, size, settings, warmup_s=None, noise_pct=None):
        return profile_record(size, [0.001 * size] * 5, 0.005 * size, stable=True)  # flat throughput

    monkeypatch.setattr(sweep_module, "measure", fixed)
    monkeypatch.setattr(sweep_module, "sweep_stop_reason", lambda points, *_: "saturated" if len(points) >= 3 else "")
    settings = MeasureSettings(warmup_s=0.0, window_ms=1, windows=2, stability_pct=10, max_trials=2)
    ended = sweep(lambda size: lambda: None, [1, 2, 4], settings, auto=True, gain_pct=5, patience=2)
    assert [r.batch_size for r in ended.records] == [1, 2, 4] and ended.stopped == ""
    cut = sweep(lambda size: lambda: None, [1, 2, 4, 8, 16], settings, auto=True, gain_pct=5, patience=2)
    assert [r.batch_size for r in cut.records] == [1, 2, 4] and cut.stopped == "saturated"
