"""Padded positions left out of the correctness comparison, on numpy outputs shaped as a decoder's."""

from __future__ import annotations

import numpy as np

from navctl.contract.records import AxisRange, TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.steps.correctness import compare
from navctl.steps.padding import describe, mask_input, padding_of

RNG = np.random.default_rng(0)


def _axis(axis: int, symbol: str, size: int) -> AxisRange:
    return AxisRange(axis=axis, symbol=symbol, min=size, typical=size, max=size, samples_min=size, samples_max=size)


def _io(named: bool) -> ModelIO:
    """input_ids and attention_mask [batch, seq]; logits [batch, seq, vocab]; a cache [batch, heads, seq, dim]."""
    axes = [_axis(0, "batch", 2), _axis(1, "seq", 8)] if named else []
    return ModelIO(
        inputs=[
            TensorMeta(name="input_ids", dtype="int64", shape=[2, 8], axes=axes),
            TensorMeta(name="attention_mask", dtype="int64", shape=[2, 8], axes=axes),
        ],
        outputs=[
            TensorMeta(name="logits", dtype="float32", shape=[2, 8, 5], axes=axes),
            TensorMeta(
                name="cache", dtype="float32", shape=[2, 1, 8, 4], axes=[axes[0], _axis(2, "seq", 8)] if named else []
            ),
            TensorMeta(name="pooled", dtype="float32", shape=[2, 5], axes=axes[:1]),
        ],
        call="keyword",
        batching=True,
        batch_axis=0,
        samples=1,
    )


def _sample() -> tuple[dict, dict]:
    mask = np.ones((2, 8), dtype=np.int64)
    mask[1, :3] = 0  # the second prompt left-padded by 3
    feed = {"input_ids": RNG.integers(0, 5, (2, 8)), "attention_mask": mask}
    ref = {
        "logits": RNG.standard_normal((2, 8, 5)).astype(np.float32),
        "cache": RNG.standard_normal((2, 1, 8, 4)).astype(np.float32),
        "pooled": RNG.standard_normal((2, 5)).astype(np.float32),
    }
    return feed, ref


def test_padded_positions_are_not_compared_and_the_rest_still_is() -> None:
    for mask_dtype in (np.int64, np.bool_, np.float32):  # Hugging Face takes any of these
        io = _io(True)
        feed, ref = _sample()
        feed["attention_mask"] = feed["attention_mask"].astype(mask_dtype)
        got = {k: v.copy() for k, v in ref.items()}
        got["logits"][1, :3] += 0.35  # garbage where the prompt is padding, as ONNX Runtime computed it
        got["cache"][1, :, :3] -= 0.25
        assert not compare([got], [ref], {}).passed
        mask = mask_input(io, [feed], "auto")
        assert mask == "attention_mask"
        padded = padding_of(io, mask, [feed], [ref])
        assert sorted(padded) == ["cache", "logits"], mask_dtype  # pooled [batch, 5] has no sequence axis
        assert int(padded["logits"][0].sum()) == 3 * 5 and int(padded["cache"][0].sum()) == 3 * 4
        result = compare([got], [ref], {}, padded=padded)
        assert result.passed and result.outputs["logits"].max_abs == 0.0
        got["logits"][1, 3] += 0.01  # the first real token of the padded prompt: still compared
        assert not compare([got], [ref], {}, padded=padded).passed
        assert describe(mask, [feed], padded) == (
            "padding not compared: where attention_mask is 0 (3 of 16 positions), outputs 'logits', 'cache' answer "
            "for padding, which no caller reads (correctness.padding_mask: null compares it too)"
        )


def test_the_gates_cosine_counts_the_real_positions_only() -> None:
    io = _io(True)
    feed, ref = _sample()
    feed["attention_mask"][0, :6] = 0  # most of both rows is padding
    feed["attention_mask"][1, :6] = 0
    got = {k: v.copy() for k, v in ref.items()}
    got["logits"] = ref["logits"] + RNG.normal(0, 0.6, ref["logits"].shape).astype(np.float32)
    padded = padding_of(io, "attention_mask", [feed], [ref])
    real = compare([{"logits": got["logits"][:, 6:]}], [{"logits": ref["logits"][:, 6:]}], {}).outputs["logits"]
    masked = compare([got], [ref], {}, padded=padded).outputs["logits"]
    assert masked.cosine == real.cosine and masked.mean_abs == real.mean_abs and masked.max_abs == real.max_abs


def test_no_mask_is_taken_unless_its_rows_look_like_padding() -> None:
    io = _io(True)
    feed, _ = _sample()
    assert mask_input(io, [feed], None) is None  # correctness.padding_mask: null
    assert mask_input(io, [feed], "input_ids") is None  # named, but not 0 and 1 only
    assert mask_input(io, [{**feed, "attention_mask": feed["attention_mask"] * 2}], "auto") is None
    scattered = feed["attention_mask"].copy()
    scattered[0, 2] = 0  # a hole inside a row: random bits, not padding
    assert mask_input(io, [{**feed, "attention_mask": scattered}], "auto") is None
    only_padding = feed["attention_mask"].copy()
    only_padding[1] = 0  # a row with no real token: comparing nothing there would prove nothing
    assert mask_input(io, [{**feed, "attention_mask": only_padding}], "auto") is None
    flipped = (feed["attention_mask"] == 0).astype(bool)  # key_padding_mask's way: True marks padding
    assert mask_input(io, [{**feed, "attention_mask": flipped}], "auto") is None  # its unpadded row is all 0
    unpadded = {**feed, "attention_mask": np.ones((2, 8), dtype=np.int64)}
    assert padding_of(io, "attention_mask", [unpadded], [_sample()[1]]) == {}


def test_without_symbols_no_axis_is_taken_for_the_sequence_by_its_length() -> None:
    # samples of one length name no sequence symbol: [batch, 8 heads, 4] beside 8 tokens is no sequence
    io = _io(False)
    feed, ref = _sample()
    assert padding_of(io, "attention_mask", [feed], [ref]) == {}


def test_an_encoder_decoders_mask_marks_no_decoder_output() -> None:
    io = _io(True)
    feed, _ = _sample()
    decoder = TensorMeta(name="decoder_input_ids", dtype="int64", shape=[2, 8], axes=io.inputs[0].axes)
    with_decoder = io.model_copy(update={"inputs": [*io.inputs, decoder]})
    assert mask_input(with_decoder, [{**feed, "decoder_input_ids": feed["input_ids"]}], "auto") is None
    two = TensorMeta(name="decoder_attention_mask", dtype="int64", shape=[2, 8], axes=io.inputs[0].axes)
    both = io.model_copy(update={"inputs": [*io.inputs, two]})
    feeds = [{**feed, "decoder_attention_mask": feed["attention_mask"]}]
    assert mask_input(both, feeds, "auto") is None
    assert mask_input(both, feeds, "attention_mask") == "attention_mask"  # the recipe names it: taken
