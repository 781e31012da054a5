"""The numpy greedy loop against transformers' own greedy generate, on tiny real models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from navctl.generation.loop import CacheLayout, first_divergence, greedy, positions
from navctl.generation.torch_step import CacheStep, layout_of, numpy_step
from tests.generation.tiny_lm import load


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return load(tmp_path_factory.mktemp("lm"))


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_greedy_matches_generate_with_left_padding(lm, kind):
    model = lm.build(kind)
    batch = lm.prompts()[0]
    assert int(batch["attention_mask"].sum()) < batch["attention_mask"].numel()  # really padded
    with torch.no_grad():
        layout = layout_of(model(input_ids=batch["input_ids"][:, :2], use_cache=True)["cache"])
        want = model.generate(**batch, max_new_tokens=8, do_sample=False, pad_token_id=0, eos_token_id=None)
    step = numpy_step(CacheStep(model, layout.layers), layout)
    got = greedy(step, layout, batch["input_ids"].numpy(), batch["attention_mask"].numpy(), max_new_tokens=8)
    expected = want[:, batch["input_ids"].shape[1] :].numpy()
    assert got.tokens.shape == (2, 8)
    assert first_divergence(expected, got.tokens) is None, (expected, got.tokens)
    assert len(got.step_logits) == 8 and got.step_logits[0].shape == (2, 1000)
    assert len(got.step_times_s) == 8 and got.ttft_s > 0
    assert layout == CacheLayout(layers=2, heads=2, head_dim=16, dtype="float32")


def test_padded_row_generates_what_it_would_unpadded(lm):
    model = lm.build()
    batch = lm.prompts()[0]
    layout = CacheLayout(layers=2, heads=2, head_dim=16)
    step = numpy_step(CacheStep(model, 2), layout)
    both = greedy(step, layout, batch["input_ids"].numpy(), batch["attention_mask"].numpy(), max_new_tokens=6)
    alone = greedy(step, layout, batch["input_ids"][:1, 2:].numpy(), max_new_tokens=6)
    np.testing.assert_array_equal(both.tokens[:1], alone.tokens)
    np.testing.assert_allclose(both.step_logits[3][:1], alone.step_logits[3], atol=1e-4)


def test_eos_stops_and_pads_finished_rows():
    vocab, eos = 5, 4
    layout = CacheLayout(layers=1, heads=1, head_dim=2)
    script = {0: [4, 1], 1: [2, 4]}  # row 0 ends at step 0, row 1 at step 1

    def step(feed):
        index = 0 if feed["past_key_values.0.key"].shape[2] == 0 else 1
        logits = np.zeros((2, feed["input_ids"].shape[1], vocab), dtype=np.float32)
        for row, token in enumerate(script[index]):
            logits[row, -1, token] = 1.0
        length = feed["attention_mask"].shape[1]
        kv = np.zeros((2, 1, length, 2), dtype=np.float32)
        return {"logits": logits, "present.0.key": kv, "present.0.value": kv}

    seen = []
    out = greedy(
        step,
        layout,
        np.ones((2, 3), dtype=np.int64),
        max_new_tokens=10,
        eos=eos,
        pad=0,
        on_token=lambda i, t: seen.append((i, t.tolist())),
    )
    assert out.tokens.tolist() == [[4, 0], [1, 4]]
    assert seen == [(0, [4, 1]), (1, [0, 4])]


def test_positions_and_divergence():
    mask = np.array([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert positions(mask).tolist() == [[1, 1, 0, 1], [0, 1, 2, 3]]
    a = np.array([[1, 2, 3], [4, 5, 6]])
    b = np.array([[1, 2, 3], [4, 9, 6]])
    assert first_divergence(a, a) is None
    assert first_divergence(a, b) == {"step": 1, "row": 1, "expected": 5, "actual": 9}
    assert first_divergence(a, a[:, :2]) == {"step": 2, "row": 0, "expected": 3, "actual": -1}


def test_bad_prompt_is_a_clear_error():
    layout = CacheLayout(layers=1, heads=1, head_dim=2)
    with pytest.raises(ValueError, match="prompt_ids must be"):
        greedy(lambda f: f, layout, np.ones((3,), dtype=np.int64))
    with pytest.raises(ValueError, match="attention_mask shape"):
        greedy(lambda f: f, layout, np.ones((1, 3)), np.ones((1, 2)))
