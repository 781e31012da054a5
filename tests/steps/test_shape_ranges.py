"""Shape ranges from samples, in-process: which axes are dynamic, their sizes, which share a symbol, the
samples made at the bounds and at other shapes, and what the recipe checks say about them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from navctl.contract.feeds import bound_feeds, feed_at, resize
from navctl.contract.records import TensorMeta
from navctl.contract.shapes import GridShape
from navctl.recipe.axes import signature_problems
from navctl.recipe.load import load_recipe
from navctl.steps.child import StepFailed
from navctl.steps.shape_ranges import find_ranges, name_output_axes, with_ranges


def tokens(batch: int, length: int, start: int = 0) -> dict[str, np.ndarray]:
    ids = (np.arange(batch * length).reshape(batch, length) + start) % 97
    return {"input_ids": ids, "attention_mask": np.ones((batch, length), dtype=np.int64)}


FEEDS = [tokens(2, 16), tokens(2, 32, 5), tokens(2, 16, 9)]


def metas(feeds, declared=None, dynamic=None, max_batch=64) -> list[TensorMeta]:
    ranges = find_ranges(feeds, True, 0, dynamic or {}, declared or {}, max_batch)
    base = [TensorMeta(name=n, dtype=str(a.dtype), shape=list(a.shape)) for n, a in feeds[0].items()]
    return with_ranges(base, ranges)


def test_two_sequence_lengths_give_one_shared_range_and_the_batch_its_own() -> None:
    ids, mask = metas(FEEDS)
    assert ids.shape == mask.shape == [-1, -1]
    (batch, seq), (mask_batch, mask_seq) = ids.axes, mask.axes
    assert (batch.symbol, batch.min, batch.typical, batch.max) == ("batch", 1, 2, 64)
    assert (seq.symbol, seq.min, seq.typical, seq.max) == ("input_ids_dim1", 16, 16, 32)
    assert mask_seq.symbol == seq.symbol and mask_batch.symbol == "batch"
    assert (seq.samples_min, seq.samples_max) == (16, 32)


def test_sizes_that_never_vary_prove_no_sharing_and_typical_is_the_most_common() -> None:
    feeds = [
        {"a": np.zeros((1, 8, 3)), "b": np.zeros((1, 8))},
        {"a": np.zeros((1, 8, 5)), "b": np.zeros((1, 8))},
        {"a": np.zeros((1, 8, 5)), "b": np.zeros((1, 8))},
    ]
    a, b = metas(feeds, dynamic={"a": [1], "b": [1]})
    assert a.axes[1].symbol != b.axes[1].symbol  # both always 8: no evidence that they are one axis
    assert (a.axes[2].min, a.axes[2].typical, a.axes[2].max) == (3, 5, 5)
    tie = metas([{"x": np.zeros((1, n))} for n in (24, 16)])[0].axes[1]
    assert tie.typical == 16  # a tie: the smaller


def test_declared_bounds_widen_the_range_and_a_declared_symbol_ties_axes() -> None:
    ids, mask = metas(FEEDS, declared={"input_ids": {1: {"max": 128, "symbol": "seq"}}})
    assert (ids.axes[1].symbol, ids.axes[1].max, ids.axes[1].samples_max) == ("seq", 128, 32)
    assert mask.axes[1].symbol == "seq" and mask.axes[1].max == 128  # the evidence joins it to seq
    with pytest.raises(StepFailed, match="share the symbol 'pair'"):
        metas(
            [{"a": np.zeros((1, 4)), "b": np.zeros((1, 6))}],
            declared={"a": {1: {"symbol": "pair"}}, "b": {1: {"symbol": "pair"}}},
        )


def test_output_axes_take_the_symbol_of_the_input_axis_they_follow() -> None:
    inputs = metas(FEEDS)
    outputs = [
        {"logits": np.zeros((2, f["input_ids"].shape[1], 100)), "pooled": np.zeros((2, 7 + i))}
        for i, f in enumerate(FEEDS)
    ]
    metas_out = [
        TensorMeta(name="logits", dtype="float32", shape=[-1, -1, 100]),
        TensorMeta(name="pooled", dtype="float32", shape=[-1, -1]),
    ]
    logits, pooled = name_output_axes(metas_out, outputs, inputs, FEEDS, batch_axis=0)
    assert [(a.axis, a.symbol) for a in logits.axes] == [(0, "batch"), (1, "input_ids_dim1")]
    assert pooled.axes[1].symbol == "pooled_dim1" and (pooled.axes[1].min, pooled.axes[1].max) == (7, 9)


def test_bound_samples_are_made_only_where_the_samples_stop_short() -> None:
    inputs = metas(FEEDS)
    made = bound_feeds(FEEDS, inputs, batching=True, batch_axis=0)
    assert list(made) == ["min"]  # 32 is among the samples; batch 1 is not
    assert made["min"]["input_ids"].shape == (1, 16)
    wider = metas(FEEDS, declared={"input_ids": {1: {"max": 48}}})
    made = bound_feeds(FEEDS, wider, batching=True, batch_axis=0)
    grown = made["max"]["input_ids"]
    assert grown.shape == (2, 48) and made["max"]["attention_mask"].shape == (2, 48)
    # grown from the longest sample, repeated from its start: only values the model was fed
    np.testing.assert_array_equal(grown[:, 32:], FEEDS[1]["input_ids"][:, :16])
    assert bound_feeds([tokens(1, 16)], metas([tokens(1, 16)]), batching=True, batch_axis=0) == {}


def test_feeds_at_a_shape_use_its_samples_or_resize_the_nearest() -> None:
    inputs = metas(FEEDS)
    at16 = feed_at(FEEDS, inputs, GridShape("typical", {"input_ids_dim1": 16}), 4, 0)
    np.testing.assert_array_equal(at16["input_ids"], np.concatenate([FEEDS[0]["input_ids"], FEEDS[2]["input_ids"]]))
    at20 = feed_at(FEEDS, inputs, GridShape("given", {"input_ids_dim1": 20}), 3, 0)
    assert at20["input_ids"].shape == at20["attention_mask"].shape == (3, 20)
    cut = resize(FEEDS[1], inputs, {"input_ids_dim1": 8})
    np.testing.assert_array_equal(cut["input_ids"], FEEDS[1]["input_ids"][:, :8])


def test_recipe_bounds_that_contradict_the_samples_are_reported_at_their_line(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text("def build():\n    pass\n\n\ndef samples():\n    pass\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "name: r\nframework: torch\nmodel: {entrypoint: model.py:build}\ndataloader: {factory: model.py:samples}\n"
        "targets: [onnx]\ninputs:\n  - name: input_ids\n    axes: {1: {max: 24}}\n  - name: attention_mask\n"
        "    axes:\n      1: {max: 40}\n      2: {max: 3}\nprofiling:\n  shapes: [max, {input_ids: [1, 64, 2]}]\n"
    )
    loaded = load_recipe(recipe)
    problems = signature_problems(loaded.path, loaded.recipe, metas(FEEDS))
    found = {(p.field, p.line): p.message for p in problems}
    assert found[("inputs[0].axes.1.max", 8)] == "24 is below the samples' largest size here (32)"
    assert "has 2 axes" in found[("inputs[1].axes.2", 12)]
    assert "their max differ (input_ids 24, attention_mask 40)" in found[("inputs[1].axes.1.max", 11)]
    assert "[1, 64, 2] has 3" in found[("profiling.shapes[1]", 14)]


def test_two_axes_of_one_input_that_agree_stay_apart_unless_the_recipe_ties_them() -> None:
    square = [{"image": np.zeros((1, 3, n, n))} for n in (224, 256)]
    (image,) = metas(square)
    assert [a.symbol for a in image.axes] == ["batch", "image_dim2", "image_dim3"]
    tied = metas(square, declared={"image": {2: {"symbol": "side"}, 3: {"symbol": "side"}}})[0]
    assert [a.symbol for a in tied.axes] == ["batch", "side", "side"]
