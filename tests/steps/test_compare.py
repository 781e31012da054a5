from __future__ import annotations

import numpy as np
import pytest

from navctl.steps.correctness import compare, summary


def test_within_tolerance_and_zero_reference_gives_finite_relative_error() -> None:
    ref = [{"y": np.array([0.0, 1.0, -2.0], dtype=np.float32)}]
    out = [{"y": np.array([1e-6, 1.0005, -2.0], dtype=np.float32)}]
    result = compare(out, ref, {"y": (1e-5, 1e-3)})
    assert result.passed
    y = result.outputs["y"]
    assert np.isfinite(y.max_rel) and y.max_rel < 1e-3
    assert y.max_abs < 1e-3


def test_elementwise_rule_fails_and_reports_figures() -> None:
    ref = [{"y": np.array([1.0, 100.0])}, {"y": np.array([1.0, 1.0])}]
    out = [{"y": np.array([1.0, 100.05])}, {"y": np.array([1.2, 1.0])}]
    result = compare(out, ref, {"y": (1e-4, 1e-3)})
    assert not result.passed
    y = result.outputs["y"]
    assert y.max_abs == np.float64(1.2 - 1.0).item() or abs(y.max_abs - 0.2) < 1e-12
    assert y.problem == "first exceeded on sample 1"
    assert "max abs error 0.2" in summary(result)


def test_nan_shape_dtype_and_name_mismatches_fail_with_both_sides() -> None:
    ref = [{"y": np.zeros((2, 3), np.float32)}]
    nan = compare([{"y": np.full((2, 3), np.nan, np.float32)}], ref, {})
    assert not nan.passed and "NaN" in nan.outputs["y"].problem
    shape = compare([{"y": np.zeros((3, 2), np.float32)}], ref, {})
    assert "shape [3, 2], source gives [2, 3]" in shape.outputs["y"].problem
    dtype = compare([{"y": np.zeros((2, 3), np.int64)}], ref, {})
    assert "dtype int64, source gives float32" in dtype.outputs["y"].problem
    names = compare([{"z": np.zeros((2, 3), np.float32)}], ref, {})
    assert not names.passed and "['z']" in names.problem and "['y']" in names.problem


def test_reduced_precision_outputs_are_compared_not_refused() -> None:
    # float16 holds 1.0 and 4.0 exactly; next to 2.0 its step is 2**-9, so 2.0019 lands on 2 + 2**-9
    ref = [{"y": np.array([1.0, 2.0019, 4.0], np.float32)}]
    out = [{"y": np.array([1.0, 2.0019, 4.0], np.float16)}]
    error = abs(2 + 2**-9 - float(np.float32(2.0019)))
    result = compare(out, ref, {"y": (1e-3, 1e-3)})
    y = result.outputs["y"]
    assert result.passed and y.problem == ""
    assert y.max_abs == pytest.approx(error, rel=1e-6)
    assert y.max_rel == pytest.approx(error / float(np.float32(2.0019)), rel=1e-6)
    assert y.mean_abs == pytest.approx(error / 3, rel=1e-6)
    # the same float16 values against a tolerance below their rounding error fail with the figures
    tight = compare(out, ref, {"y": (1e-5, 0.0)})
    assert not tight.passed and tight.outputs["y"].problem == "first exceeded on sample 0"
    assert f"max abs error {error:.3g}" in summary(tight)


def test_root_cause_keeps_the_real_error_without_colour_codes() -> None:
    from navctl.steps.common import root_cause

    try:
        try:
            raise RuntimeError("Cannot view a tensor with shape [2, 8] and strides [8, 1] as a tensor with shape (16,)")
        except RuntimeError as inner:
            raise ValueError("\x1b[31mFailed to export the model with torch.export.\x1b[0m See above.") from inner
    except ValueError as exc:
        text = root_cause(exc)
    assert "\x1b" not in text
    assert text.startswith("ValueError: Failed to export the model with torch.export.")
    assert "(cause: RuntimeError: Cannot view a tensor with shape [2, 8]" in text


def test_a_reduced_precision_gate_checks_cosine_and_top1_without_elementwise_tolerance() -> None:
    rng = np.random.default_rng(0)
    ref = [{"scores": rng.normal(size=(8, 5)).astype(np.float32)} for _ in range(2)]
    close = [{"scores": r["scores"] + np.float32(0.01)} for r in ref]
    gate = {"min_cosine": 0.99, "min_top1": 0.99}
    passed = compare(close, ref, {"scores": None}, gate)
    scores = passed.outputs["scores"]
    assert passed.passed and scores.atol is None and scores.top1 == 1.0 and scores.cosine > 0.999
    assert abs(scores.mean_abs - 0.01) < 1e-6
    # one row of 16 changes its arg-max: 93.75 % top-1 agreement, below the 99 % floor
    swapped = [{"scores": r["scores"].copy()} for r in ref]
    row = swapped[1]["scores"][3]
    row[[np.argmax(row), np.argmin(row)]] = row[[np.argmin(row), np.argmax(row)]]
    rejected = compare(swapped, ref, {"scores": None}, gate)
    assert not rejected.passed and rejected.outputs["scores"].top1 == 15 / 16
    assert "top-1 agreement 93.8% < 99.0%" in summary(rejected)
    # a cosine floor, and an elementwise tolerance when the gate gives one
    assert not compare(close, ref, {"scores": None}, {"min_cosine": 0.999999, "min_top1": 0.0}).passed
    assert not compare(close, ref, {"scores": (1e-3, 0.0)}, gate).passed


def test_full_precision_checks_record_similarity_too() -> None:
    ref = [{"y": np.array([[1.0, 2.0, 3.0]], np.float32)}]
    result = compare(ref, ref, {"y": (1e-4, 1e-3)})
    assert result.passed and result.outputs["y"].cosine == 1.0 and result.outputs["y"].top1 == 1.0


def test_a_constant_mask_or_label_is_vacuous_without_advice_on_atol() -> None:
    ref = [
        {"mask": np.zeros(4, dtype=bool), "label": np.full(4, 3, dtype=np.int64), "p": np.zeros(4, dtype=np.float32)}
        for _ in range(2)
    ]
    outputs = compare(ref, ref, {name: (1e-4, 1e-3) for name in ("mask", "label", "p")}).outputs
    assert outputs["mask"].warning.startswith("vacuous check: the reference is False everywhere on these samples")
    assert outputs["label"].warning.startswith("vacuous check: the reference is 3 everywhere on these samples")
    assert "lower atol" not in outputs["mask"].warning + outputs["label"].warning
    assert "within atol (0.0001)" in outputs["p"].warning  # a float near zero: atol is the lever there
    varied = [{"mask": np.array([True, False])}, {"mask": np.array([False, False])}]
    assert compare(varied, varied, {"mask": (1e-4, 1e-3)}).outputs["mask"].warning == ""
