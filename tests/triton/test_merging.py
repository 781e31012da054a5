"""One rule for whether `navctl triton`, `serve` and `loadtest` merge requests (no server needed)."""

from __future__ import annotations

import pytest

from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.errors import UsageError
from navctl.triton.merging import merging, note

META = TensorMeta(name="x", dtype="float32", shape=[-1, 4])
BATCHABLE = ModelIO(inputs=[META], outputs=[META], call="positional", batching=True, batch_axis=0, samples=2)
CLIP = BATCHABLE.model_copy(
    update={
        "batching": False,
        "batchable": False,
        "batch_reason": "outputs 'logits_per_image', 'logits_per_text': mixes samples",
    }
)
OFF = BATCHABLE.model_copy(update={"batching": False})


def test_requests_are_merged_when_every_output_is_per_sample_unless_turned_off() -> None:
    assert merging(BATCHABLE, None, None, [], "navctl serve") is True
    assert merging(BATCHABLE, True, 8, [4], "navctl serve") is True
    assert merging(BATCHABLE, False, None, [], "navctl serve") is False
    assert note(BATCHABLE) == ""


def test_a_model_that_is_not_batchable_is_never_merged_and_says_why() -> None:
    assert merging(CLIP, None, None, [], "navctl serve") is False
    assert merging(CLIP, False, None, [], "navctl serve") is False
    assert note(CLIP) == (
        "requests are never merged (max_batch_size 0): not every output is per sample "
        "(outputs 'logits_per_image', 'logits_per_text': mixes samples)"
    )
    for asked, max_batch, preferred, flags in (
        (True, None, [], "--dynamic-batching"),
        (None, 8, [], "--max-batch-size"),
        (None, None, [4], "--preferred-batch-size"),
    ):
        with pytest.raises(UsageError) as caught:
            merging(CLIP, asked, max_batch, preferred, "navctl loadtest")
        assert caught.value.message.startswith(f"navctl loadtest: {flags}: requests cannot be merged for this model")
        assert "'logits_per_image'" in caught.value.message


def test_batching_off_in_the_recipe_refuses_merging_options_too() -> None:
    assert merging(OFF, None, None, [], "navctl triton") is False
    assert note(OFF) == ""  # the recipe's own choice: nothing to announce
    with pytest.raises(UsageError, match=r"batching.enabled: false"):
        merging(OFF, True, None, [], "navctl triton")
