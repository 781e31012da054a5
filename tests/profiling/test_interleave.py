"""Interleaved profiling on fake runners under a simulated machine: pure logic, milliseconds."""

from __future__ import annotations

import pytest

from navctl.profiling import interleave
from navctl.profiling.interleave import MemberFailed, run_session
from navctl.profiling.measure import MeasureSettings
from navctl.profiling.rules import window_done

SETTINGS = MeasureSettings(warmup_s=0.0, window_ms=10, windows=3, stability_pct=10, max_trials=10)


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch):
    monkeypatch.setattr(interleave, "SETTLE_S", 0.0)


class Machine:
    """A virtual clock and a speed that a schedule changes (1.0 = quiet)."""

    def __init__(self, speed):
        self.now = 0.0
        self.speed = speed  # callable: virtual time -> speed factor

    def run(self, seconds_at_full_speed: float) -> float:
        took = seconds_at_full_speed / self.speed(self.now)
        self.now += took
        return took


class Fake:
    def __init__(self, key: str, machine: Machine, per_sample_s: float, fixed_s: float = 0.0, fail_at: int = 0):
        self.key = key
        self.machine = machine
        self.per_sample_s = per_sample_s
        self.fixed_s = fixed_s
        self.fail_at = fail_at

    def _latency(self, size: int) -> float:
        if self.fail_at and size >= self.fail_at:
            raise MemberFailed("RuntimeError: boom")
        return self.machine.run(self.fixed_s + self.per_sample_s * size)

    def warmup(self, batch_size: int, seconds: float) -> None:
        self._latency(batch_size)

    def window(self, batch_size: int, seconds: float) -> list[float]:
        latencies, spent = [], 0.0
        while not window_done(len(latencies), spent, seconds):
            latencies.append(self._latency(batch_size))
            spent += latencies[-1]
        return latencies


def test_ratios_survive_a_machine_that_slows_down_threefold() -> None:
    # The machine runs at full speed for the first 0.15 virtual seconds, then at a third.
    machine = Machine(lambda t: 1.0 if t < 0.15 else 1 / 3)
    source = Fake("source@torch-cpu", machine, per_sample_s=2e-4)
    fast = Fake("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4)
    session = run_session(
        [source, fast], {m.key: [1, 2, 4] for m in (source, fast)}, SETTINGS, auto=False, reference="source@torch-cpu"
    )
    for record in session.members["onnx@onnxruntime-cpu"].records:
        assert record.vs_reference == pytest.approx(2.0, rel=0.1)
    # the slowdown is caught: the reference measured again at the end is a third as fast
    assert session.drift_pct == pytest.approx(-66.7, abs=5)
    assert "moved" in session.unreliable


def test_quiet_machine_is_not_flagged_and_sweep_stops_at_saturation() -> None:
    machine = Machine(lambda t: 1.0)
    # fixed cost dominates small batches: throughput grows until the per-sample cost dominates
    source = Fake("source@torch-cpu", machine, per_sample_s=1e-3, fixed_s=1e-3)
    session = run_session(
        [source], {source.key: [1, 2, 4, 8, 16, 32, 64, 128, 256]}, SETTINGS, auto=True, reference=source.key
    )
    result = session.members[source.key]
    assert session.unreliable == ""
    assert session.drift_pct == pytest.approx(0.0, abs=1e-6)
    assert all(r.stable for r in result.records)
    # 1 ms + 1 ms/sample: 32 gains 3% (the first miss), 64 gains 1.5% (the second): the sweep stops there
    assert result.stopped == "throughput gain under 5% for 2 sizes in a row"
    assert [r.batch_size for r in result.records] == [1, 2, 4, 8, 16, 32, 64]
    sizes = {source.key: [1, 2, 4, 8, 16, 32, 64, 128, 256]}
    # a patience of 3 waits for a third miss, unless the straight latency line says nothing larger can gain
    patient = run_session([source], sizes, SETTINGS, auto=True, patience=3, predict=False)
    assert patient.members[source.key].stopped == "throughput gain under 5% for 3 sizes in a row"
    assert patient.members[source.key].records[-1].batch_size == 128
    predicted = run_session([source], sizes, SETTINGS, auto=True, patience=3, predict=True).members[source.key]
    assert "levels off" in predicted.stopped and "past batch 32" in predicted.stopped
    assert predicted.records[-1].batch_size == 64


def test_unstable_points_never_end_a_sweep() -> None:
    # Speed alternates every 3 ms of virtual time: every window disagrees with the last.
    machine = Machine(lambda t: 1.0 if int(t / 0.003) % 2 else 0.3)
    member = Fake("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4, fixed_s=1e-3)
    sizes = [1, 2, 4, 8, 16, 32]
    session = run_session([member], {member.key: sizes}, SETTINGS, auto=True)
    records = session.members[member.key].records
    unstable = [r for r in records if not r.stable]
    assert unstable, "the simulated noise should make some points unstable"
    # every size was measured: an unstable point is not evidence that throughput stopped growing
    stable_misses = session.members[member.key].stopped
    assert [r.batch_size for r in records] == sizes or "gain under" in stable_misses
    assert session.unstable_points == len(unstable)


def test_a_failing_runner_leaves_the_others_measured() -> None:
    machine = Machine(lambda t: 1.0)
    good = Fake("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4)
    bad = Fake("openvino@openvino-cpu", machine, per_sample_s=1e-4, fail_at=4)
    session = run_session([good, bad], {m.key: [1, 2, 4, 8] for m in (good, bad)}, SETTINGS, auto=False)
    assert [r.batch_size for r in session.members[good.key].records] == [1, 2, 4, 8]
    assert [r.batch_size for r in session.members[bad.key].records] == [1, 2]
    assert session.members[bad.key].error == "batch size 4: RuntimeError: boom"


def test_out_of_memory_ends_a_sweep_quietly() -> None:
    class Oom(Fake):
        def _latency(self, size: int) -> float:
            if size >= 8:
                raise MemberFailed("RuntimeError: CUDA out of memory")
            return super()._latency(size)

    member = Oom("onnx@onnxruntime-cuda", Machine(lambda t: 1.0), per_sample_s=1e-4)
    session = run_session([member], {member.key: [1, 2, 4, 8, 16]}, SETTINGS, auto=False)
    result = session.members[member.key]
    assert [r.batch_size for r in result.records] == [1, 2, 4]
    assert result.stopped.startswith("out of memory at batch size 8")
    assert result.error == ""


class Counting(Fake):
    """A Fake that records the batch size of every window and the seconds of every warm-up."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.windows: list[int] = []
        self.warmups: list[tuple[int, float]] = []

    def warmup(self, batch_size: int, seconds: float) -> None:
        self.warmups.append((batch_size, seconds))
        super().warmup(batch_size, seconds)

    def window(self, batch_size: int, seconds: float) -> list[float]:
        self.windows.append(batch_size)
        return super().window(batch_size, seconds)


SWEPT = [1, 2, 4, 8, 16, 32]


def _source_fast_slow(slow_kind: type[Counting] = Counting):
    """A source, a candidate 4x faster and one 3x slower than it (of `slow_kind`), swept side by side on SWEPT."""
    machine = Machine(lambda t: 1.0)
    source = Counting("source@torch-cpu", machine, per_sample_s=4e-4, fixed_s=1e-3)
    fast = Counting("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4, fixed_s=1e-3)
    slow = slow_kind("trace@torchscript-cpu", machine, per_sample_s=3e-4, fixed_s=2e-3)
    members = [source, fast, slow]
    session = run_session(members, {m.key: SWEPT for m in members}, SETTINGS, auto=True, reference=source.key)
    return (source, fast, slow), session


def test_a_runner_clearly_slower_at_every_size_stops_early_and_says_so() -> None:
    (source, fast, slow), session = _source_fast_slow()
    sizes = SWEPT
    stopped = session.members[slow.key]
    assert [r.batch_size for r in stopped.records] == [1, 2]
    assert stopped.stopped.startswith("slower than onnx@onnxruntime-cpu at every size measured (1, 2): by ")
    assert max(slow.windows) == 2
    # the faster candidate sweeps on; the reference, slower still, is never stopped this way
    assert [r.batch_size for r in session.members[fast.key].records] == sizes
    assert [r.batch_size for r in session.members[source.key].records] == sizes
    # batch sizes given in the recipe are measured in full
    given = run_session([source, fast, slow], {m.key: sizes for m in (source, fast, slow)}, SETTINGS, auto=False)
    assert [r.batch_size for r in given.members[slow.key].records] == sizes


def test_the_reference_left_alone_and_clearly_slower_stops_too() -> None:
    machine = Machine(lambda t: 1.0)
    # the candidate is flat from batch 1 (2 and 4 are its misses); the reference gains at every size
    # (a large fixed cost) but stays far slower than the candidate everywhere
    source = Counting("source@torch-cpu", machine, per_sample_s=4e-4, fixed_s=2e-2)
    fast = Counting("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4)
    sizes = [1, 2, 4, 8, 16, 32, 64]
    session = run_session(
        [source, fast], {m.key: sizes for m in (source, fast)}, SETTINGS, auto=True, reference=source.key
    )
    assert [r.batch_size for r in session.members[fast.key].records] == [1, 2, 4]
    reference = session.members[source.key]
    assert [r.batch_size for r in reference.records] == [1, 2, 4]
    assert reference.stopped.startswith("slower than onnx@onnxruntime-cpu at every size measured (1, 2, 4): by ")
    assert max(source.windows) == 4
    # a reference faster than the candidate at some size sweeps on alone: its figures may be selected
    source = Counting("source@torch-cpu", machine, per_sample_s=1e-4, fixed_s=1e-3)
    flat = Counting("onnx@onnxruntime-cpu", machine, per_sample_s=4e-4)
    session = run_session(
        [source, flat], {m.key: sizes for m in (source, flat)}, SETTINGS, auto=True, reference=source.key
    )
    assert [r.batch_size for r in session.members[flat.key].records] == [1, 2, 4]
    assert [r.batch_size for r in session.members[source.key].records] == sizes


def test_an_unstable_runner_never_stops_early() -> None:
    class Jittery(Fake):
        """Every other window runs at a third of the speed: its windows never agree."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.count = 0

        def window(self, batch_size: int, seconds: float) -> list[float]:
            self.count += 1
            factor = 3.0 if self.count % 2 else 1.0
            return [lat * factor for lat in super().window(batch_size, seconds)]

    machine = Machine(lambda t: 1.0)
    fast = Fake("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4, fixed_s=1e-3)
    slow = Jittery("trace@torchscript-cpu", machine, per_sample_s=1e-3, fixed_s=5e-3)
    sizes = [1, 2, 4, 8]
    session = run_session([fast, slow], {m.key: sizes for m in (fast, slow)}, SETTINGS, auto=True)
    records = session.members[slow.key].records
    assert not any(r.stable for r in records)
    assert [r.batch_size for r in records] == sizes and session.members[slow.key].stopped == ""


def test_a_runner_unstable_at_one_size_stops_early_on_its_stable_sizes() -> None:
    class ColdAtOne(Counting):
        """Every other window at batch 1 runs at a third of the speed: batch 1 never agrees, later sizes do."""

        def window(self, batch_size: int, seconds: float) -> list[float]:
            latencies = super().window(batch_size, seconds)
            if batch_size == 1 and len(self.windows) % 2:
                return [lat * 3.0 for lat in latencies]
            return latencies

    (_, fast, slow), session = _source_fast_slow(ColdAtOne)
    stopped = session.members[slow.key]
    assert [(r.batch_size, r.stable) for r in stopped.records] == [(1, False), (2, True), (4, True)]
    assert stopped.stopped.startswith(
        "slower than onnx@onnxruntime-cpu at every size measured stably (2, 4; unstable at 1): by "
    )
    assert max(slow.windows) == 4
    assert [r.batch_size for r in session.members[fast.key].records] == SWEPT


def test_the_session_ends_when_every_member_has_stopped() -> None:
    machine = Machine(lambda t: 1.0)
    # no fixed cost: throughput is flat from batch 1, so 2 and 4 are the two misses that end each sweep
    members = [Counting(key, machine, per_sample_s=1e-4) for key in ("source@torch-cpu", "onnx@onnxruntime-cpu")]
    sizes = [1, 2, 4, 8, 16, 32, 64, 128]
    lines: list[str] = []
    session = run_session(members, {m.key: sizes for m in members}, SETTINGS, auto=True, log=lines.append)
    for member in members:
        assert session.members[member.key].stopped == "throughput gain under 5% for 2 sizes in a row"
        assert max(member.windows) == 4
    # one log line per size measured, none for the sizes nobody reached; the last says who stopped
    assert [line.split(":")[0] for line in lines] == ["batch 1", "batch 2", "batch 4"]
    assert lines[-1].count("(stops: throughput gain under 5% for 2 sizes in a row)") == 2


def test_members_warm_from_another_shape_get_one_call_at_the_first_size() -> None:
    machine = Machine(lambda t: 1.0)
    settings = MeasureSettings(warmup_s=0.5, window_ms=10, windows=3, stability_pct=10, max_trials=10)
    cold = Counting("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4)
    run_session([cold], {cold.key: [1, 2]}, settings, auto=False)
    assert cold.warmups == [(1, 0.5), (2, 0.0)]
    warm = Counting("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4)
    run_session([warm], {warm.key: [1, 2]}, settings, auto=False, warm=True)
    assert warm.warmups == [(1, 0.0), (2, 0.0)]


def test_a_stop_decided_at_the_last_size_is_no_early_stop() -> None:
    # the scene above, its sweep ending at batch 4, where the rules fire: every size was measured
    machine = Machine(lambda t: 1.0)
    source = Counting("source@torch-cpu", machine, per_sample_s=4e-4, fixed_s=2e-2)
    fast = Counting("onnx@onnxruntime-cpu", machine, per_sample_s=1e-4)
    sizes = [1, 2, 4]
    session = run_session(
        [source, fast], {m.key: sizes for m in (source, fast)}, SETTINGS, auto=True, reference=source.key
    )
    for member in (source, fast):
        assert [r.batch_size for r in session.members[member.key].records] == sizes
        assert session.members[member.key].stopped == ""
