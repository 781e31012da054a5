"""The shape grid (which shapes are profiled, which batch sizes each gets) on fake runners: pure logic."""

from __future__ import annotations

import pytest

from navctl.contract.records import AxisRange, TensorMeta
from navctl.contract.shapes import GridShape, dims_at, given, grid, record_label
from navctl.profiling import interleave
from navctl.profiling.grid import run_grid, sweep_grid
from navctl.profiling.measure import MeasureSettings
from navctl.profiling.rules import window_done

SETTINGS = MeasureSettings(warmup_s=0.0, window_ms=10, windows=3, stability_pct=10, max_trials=10)


@pytest.fixture(autouse=True)
def _no_settle(monkeypatch):
    monkeypatch.setattr(interleave, "SETTLE_S", 0.0)


def _axis(axis: int, symbol: str, low: int, typical: int, high: int) -> AxisRange:
    return AxisRange(axis=axis, symbol=symbol, min=low, typical=typical, max=high, samples_min=low, samples_max=high)


BATCH = _axis(0, "batch", 1, 2, 64)
SEQ = _axis(1, "seq", 16, 16, 32)
INPUTS = [
    TensorMeta(name="input_ids", dtype="int64", shape=[-1, -1], axes=[BATCH, SEQ]),
    TensorMeta(name="attention_mask", dtype="int64", shape=[-1, -1], axes=[BATCH, SEQ]),
    TensorMeta(name="scale", dtype="float32", shape=[-1, 4], axes=[BATCH]),
]


def test_the_grid_puts_the_selection_shape_first_and_measures_equal_shapes_once() -> None:
    assert grid(INPUTS, "auto") == [GridShape("typical", {"seq": 16}), GridShape("max", {"seq": 32})]
    assert [s.name for s in grid(INPUTS, "auto", primary="max")] == ["max", "typical"]
    explicit = grid(INPUTS, ["min", {"input_ids": [1, 24]}])
    assert explicit == [GridShape("typical", {"seq": 16}), GridShape("given-1", {"seq": 24})]
    from_samples = grid(INPUTS, "samples", sample_sizes=[{"seq": 16}, {"seq": 20}, {"seq": 32}])
    assert [s.sizes["seq"] for s in from_samples] == [16, 20, 32]
    # no dynamic axis but the batch: one shape, no sizes
    plain = [TensorMeta(name="x", dtype="float32", shape=[-1, 8], axes=[BATCH])]
    assert grid(plain, "auto") == [GridShape("typical", {})]
    assert dims_at(INPUTS, GridShape("max", {"seq": 32}), 4) == {
        "input_ids": [4, 32],
        "attention_mask": [4, 32],
        "scale": [4, 4],
    }
    assert record_label(INPUTS, "max", {"input_ids": [4, 32], "attention_mask": [4, 32]}) == "max 32"


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ({"tokens": [1, 8]}, "no input named 'tokens'"),
        ({"input_ids": [1, 8, 2]}, "has 3"),
        ({"scale": [1, 5]}, "axis 1 is fixed at 4, not 5"),
        ({"input_ids": [1, 8], "attention_mask": [1, 9]}, "given as both 8 and 9"),
    ],
)
def test_a_given_shape_that_does_not_fit_the_signature_says_why(dims, message) -> None:
    with pytest.raises(ValueError, match=message):
        given(INPUTS, dims)


def _dims(shape: GridShape, batch: int) -> dict[str, list[int]]:
    return dims_at(INPUTS, shape, batch)


class ShapedFake:
    """A runner on a virtual clock, its latency `fixed_s + per_sample_s * size`, twice that at the
    grid's second shape."""

    def __init__(self, key: str, per_sample_s: float, fixed_s: float = 0.0) -> None:
        self.key, self.per_sample_s, self.fixed_s = key, per_sample_s, fixed_s
        self.shape = 0
        self.calls: list[tuple[int, int]] = []
        self.warmups: list[tuple[int, float]] = []  # (shape, seconds)

    def use_shape(self, index: int) -> None:
        self.shape = index

    def _latency(self, size: int) -> float:
        self.calls.append((self.shape, size))
        return (self.fixed_s + self.per_sample_s * size) * (1 + self.shape)

    def warmup(self, batch_size: int, seconds: float) -> None:
        self.warmups.append((self.shape, seconds))
        self._latency(batch_size)

    def window(self, batch_size: int, seconds: float) -> list[float]:
        latencies: list[float] = []
        while not window_done(len(latencies), sum(latencies), seconds):
            latencies.append(self._latency(batch_size))
        return latencies


def test_the_first_shape_gets_the_sweep_and_the_others_two_sizes_each() -> None:
    source = ShapedFake("source@torch-cpu", per_sample_s=2e-4, fixed_s=1e-3)
    fast = ShapedFake("onnx@onnxruntime-cpu", per_sample_s=1e-4, fixed_s=2e-4)
    shapes = grid(INPUTS, "auto")
    sizes = [1, 2, 4, 8, 16]
    result = run_grid(
        [source, fast], shapes, {m.key: sizes for m in (source, fast)}, SETTINGS, _dims, auto=False,
        reference=source.key,
    )  # fmt: skip
    first = result.session.members[fast.key].records
    assert [r.batch_size for r in first] == sizes and {r.shape_name for r in first} == {"typical"}
    assert first[0].shapes == {"input_ids": [1, 16], "attention_mask": [1, 16], "scale": [1, 4]}
    others = result.others[fast.key]
    assert [(r.shape_name, r.batch_size) for r in others] == [("max", 1), ("max", 16)]
    assert others[1].shapes["input_ids"] == [16, 32]
    # the second shape costs each sample twice as much: same-round ratios still hold
    assert [r.vs_reference for r in others] == pytest.approx([1.2 / 0.3, 4.2 / 1.8], rel=0.01)
    assert sorted({size for shape, size in source.calls if shape == 1}) == [1, 16]
    # counts cover the whole grid; drift is measured once, at the first shape, at the end
    assert result.session.points == len(sizes) * 2 + 4
    assert source.calls[-1] == (0, 1) and result.session.drift_pct == pytest.approx(0.0, abs=1e-6)


def test_a_runner_failing_at_one_shape_keeps_its_figures_at_the_others() -> None:
    class FailsAtMax(ShapedFake):
        def _latency(self, size: int) -> float:
            if self.shape == 1:
                raise interleave.MemberFailed("RuntimeError: shape mismatch")
            return super()._latency(size)

    member = FailsAtMax("trace@torchscript-cpu", per_sample_s=1e-4)
    result = run_grid([member], grid(INPUTS, "auto"), {member.key: [1, 2]}, SETTINGS, _dims, auto=False)
    outcome = result.session.members[member.key]
    assert [r.batch_size for r in outcome.records] == [1, 2] and not outcome.error
    assert result.others[member.key] == []
    assert "at max 32: batch size 1: RuntimeError: shape mismatch" in outcome.stopped

    def make_infer(index: int, size: int):
        if index == 1:
            raise RuntimeError("no such shape")
        return lambda: None

    first, others = sweep_grid(make_infer, grid(INPUTS, "auto"), [1, 2], SETTINGS, _dims, False, 5.0, 2)
    assert [r.shape_name for r in first.records] == ["typical", "typical"] and others == []
    assert "at max 32: RuntimeError: no such shape" in first.stopped


def test_warm_up_is_shared_across_shapes() -> None:
    settings = MeasureSettings(warmup_s=0.5, window_ms=10, windows=3, stability_pct=10, max_trials=10)
    member = ShapedFake("onnx@onnxruntime-cpu", per_sample_s=1e-4, fixed_s=1e-3)
    run_grid([member], grid(INPUTS, "auto"), {member.key: [1, 2, 4]}, settings, _dims, auto=False)
    # the time-based warm-up once, at the first shape's first size; one call at each size after it
    assert member.warmups[0] == (0, 0.5) and all(seconds == 0.0 for _, seconds in member.warmups[1:])
    assert {shape for shape, _ in member.warmups} == {0, 1}


def test_warm_up_is_shared_across_shapes_alone_too(monkeypatch) -> None:
    from navctl.profiling import sweep as sweep_module

    asked: list[float | None] = []
    real = sweep_module.measure

    def recording(infer, size, settings, warmup_s=None, noise_pct=None):
        asked.append(warmup_s)
        return real(infer, size, settings, warmup_s=warmup_s, noise_pct=noise_pct)

    monkeypatch.setattr(sweep_module, "measure", recording)
    first, others = sweep_grid(
        lambda index, size: lambda: None, grid(INPUTS, "auto"), [1, 2], SETTINGS, _dims, False, 5.0, 2
    )
    # the first shape: the recipe's warm-up (None), then one call per size; the second shape (measured at the
    # first size and the best one, which timing noise may make the same): one call per size
    assert len(first.records) == 2 and 1 <= len(others) <= 2
    assert asked[0] is None and asked[1:] == [0.0] * (len(asked) - 1) and len(asked) == 2 + len(others)


def test_the_other_shapes_measure_throughput_where_it_levels_off_not_at_the_noisiest_peak() -> None:
    # latency 10 us + 100 us/sample: 9091, 9524, 9756, 9877, 9938 /s; within 5% of the best from batch 2
    flat = ShapedFake("onnx@onnxruntime-cpu", per_sample_s=1e-4, fixed_s=1e-5)
    lines: list[str] = []
    result = run_grid(
        [flat], grid(INPUTS, "auto"), {flat.key: [1, 2, 4, 8, 16]}, SETTINGS, _dims, False, log=lines.append
    )
    assert [(r.shape_name, r.batch_size) for r in result.others[flat.key]] == [("max", 1), ("max", 2)]
    assert sorted({size for shape, size in flat.calls if shape == 1}) == [1, 2]
    # the step's log says what each size cost: one line per batch size and shape
    assert [line.split(":")[0] for line in lines] == [f"batch {s}" for s in (1, 2, 4, 8, 16)] + [
        "shape max 32",
        "batch 1",
        "batch 2",
    ]
    assert lines[-1].startswith("batch 2: onnx@onnxruntime-cpu 4,7") and ", 3 windows, " in lines[-1]


def test_a_runner_stopped_early_as_clearly_slower_gets_only_the_latency_figure_at_the_other_shapes() -> None:
    fast = ShapedFake("onnx@onnxruntime-cpu", per_sample_s=1e-4, fixed_s=2e-4)
    slow = ShapedFake("trace@torchscript-cpu", per_sample_s=1e-3, fixed_s=5e-3)
    sizes = {m.key: [1, 2, 4, 8, 16] for m in (fast, slow)}
    result = run_grid([fast, slow], grid(INPUTS, "auto"), sizes, SETTINGS, _dims, auto=True)
    first = result.session.members[slow.key]
    assert first.stopped.startswith("slower than onnx@onnxruntime-cpu") and len(first.records) == 2
    assert [(r.shape_name, r.batch_size) for r in result.others[slow.key]] == [("max", 1)]
    assert sorted({size for shape, size in slow.calls if shape == 1}) == [1]
    assert [r.batch_size for r in result.others[fast.key]] == [1, 16]
