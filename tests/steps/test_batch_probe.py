"""The batch probe's logic on numpy "models": which outputs split back into each sample's own answer."""

from __future__ import annotations

import numpy as np
import pytest

from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.steps.batch_probe import Tolerance, annotate, check_output_lists, choose_parts, probe
from navctl.steps.child import StepFailed

RNG = np.random.default_rng(0)
W = RNG.standard_normal((12, 8)).astype(np.float32)


def two_tower(feed: dict) -> dict:
    """CLIP's outputs: per-image and per-text embeddings, and similarity matrices images x texts."""
    image = feed["pixel_values"].reshape(len(feed["pixel_values"]), -1) @ W
    text = np.eye(8, dtype=np.float32)[feed["input_ids"] % 8].mean(1)
    logits = image @ text.T
    return {"logits_per_image": logits, "logits_per_text": logits.T, "image_embeds": image}


def clip_samples(*batches: int) -> list[dict]:
    return [
        {"pixel_values": RNG.standard_normal((b, 3, 2, 2)).astype(np.float32), "input_ids": RNG.integers(0, 32, (b, 5))}
        for b in batches
    ]


def run_probe(model, feeds, tolerance=None):
    return probe(feeds, [model(f) for f in feeds], 0, model, tolerance or Tolerance(), seed=0)


def test_similarity_matrices_mix_samples_and_embeddings_do_not() -> None:
    verdict = run_probe(two_tower, clip_samples(2, 3))
    assert not verdict.batchable
    assert verdict.probe == "samples 0 and 1 merged (batch 2 + 3)"
    logits = verdict.outputs["logits_per_image"]
    assert logits.shapes == {"merged": [5, 5], "first": [2, 2], "second": [3, 3]}
    assert logits.reason.startswith("mixes samples")
    # per sample up to float rounding (a merged matmul may round differently on some CPUs: 1e-6 seen)
    assert verdict.outputs["image_embeds"].reason == "" and verdict.outputs["image_embeds"].max_abs < 1e-5
    assert "'logits_per_image', 'logits_per_text': mixes samples" in verdict.reason
    assert "image_embeds" not in verdict.reason


def test_batch_one_samples_are_merged_in_pairs_and_still_caught() -> None:
    # the case of one image-text pair per request: merged, the matrix is 2 x 2, alone 1 x 1
    verdict = run_probe(two_tower, clip_samples(1, 1, 1))
    assert verdict.probe == "samples 0 and 1 merged (batch 1 + 1)"
    assert verdict.outputs["logits_per_image"].shapes["merged"] == [2, 2]
    assert not verdict.batchable


def test_per_sample_shapes_whose_values_mix_samples() -> None:
    def centred(feed: dict) -> dict:  # batch statistics, as BatchNorm in training mode uses them
        return {"y": feed["x"] - feed["x"].mean(0, keepdims=True), "z": feed["x"] * 2}

    feeds = [{"x": RNG.standard_normal((2, 4))} for _ in range(2)]
    verdict = run_probe(centred, feeds)
    assert verdict.outputs["y"].shapes == {"merged": [4, 4], "first": [2, 4], "second": [2, 4]}
    assert verdict.outputs["y"].max_abs > 0.01 and "split back" in verdict.outputs["y"].reason
    assert verdict.outputs["z"].reason == "" and verdict.batchable is False


def test_scalars_and_outputs_without_a_batch_axis() -> None:
    def model(feed: dict) -> dict:
        x = feed["x"]
        scalars = {"count": np.asarray(7), "total": np.asarray(x.sum())}
        return {"logits": x @ W[:, :4], **scalars, "anchors": np.ones((3, 2))}

    verdict = run_probe(model, [{"x": RNG.standard_normal((2, 12)).astype(np.float32)} for _ in range(2)])
    assert verdict.outputs["logits"].reason == ""
    assert (
        verdict.outputs["count"].reason
        == verdict.outputs["total"].reason
        == "a scalar (shape []), one value for the whole batch"
    )
    assert verdict.outputs["anchors"].reason == "no batch axis (shape [3, 2] at every batch)"
    assert verdict.reason.startswith("outputs 'count', 'total': a scalar")


def test_a_list_whose_length_follows_the_batch() -> None:
    def detector(feed: dict) -> dict:  # one dict of boxes per image, flattened as navctl names them
        out = {}
        for i, image in enumerate(feed["images"]):
            keep = image.reshape(-1) > 0
            out[f"output_{i}.boxes"] = np.repeat(image.reshape(-1, 1)[keep], 4, axis=1)
            out[f"output_{i}.scores"] = image.reshape(-1)[keep]
        return out

    verdict = run_probe(detector, [{"images": RNG.standard_normal((1, 2, 3))} for _ in range(3)])
    assert not verdict.batchable
    assert set(verdict.outputs) == {"output_0.boxes", "output_0.scores"}
    assert verdict.reason == (
        "the model returns a list with one entry per sample (2 outputs for the first part alone and 4 for both merged)"
    )
    assert verdict.outputs["output_0.boxes"].shapes["merged"] is not None


def test_samples_of_other_lengths_split_one_sample_else_shuffle_a_copy() -> None:
    lengths = [{"x": np.zeros((1, n))} for n in (3, 4)] + [{"x": np.arange(8.0).reshape(4, 2)}]
    parts = choose_parts(lengths, [{}, {}, {}], 0)
    assert parts.description == "sample 2 (batch 4) split into 2 + 2"
    assert parts.first["x"].tolist() == [[0, 1], [2, 3]] and parts.second["x"].tolist() == [[4, 5], [6, 7]]

    def pooled(feed: dict) -> dict:  # every row gets the batch mean: a copy of the same sample would hide it
        return {"y": np.repeat(feed["x"].mean(0, keepdims=True), len(feed["x"]), axis=0)}

    one = [{"x": RNG.standard_normal((1, 6))}]
    verdict = run_probe(pooled, one)
    assert verdict.probe.startswith("sample 0 merged with a copy of it, values shuffled")
    assert not verdict.batchable and "split back" in verdict.reason


def test_differences_within_the_recipe_tolerance_are_per_sample() -> None:
    def noisy(feed: dict) -> dict:  # a batched kernel that rounds differently at another batch size
        x = feed["x"]
        return {"y": x + 1e-6 * len(x), "z": x + 1e-2 * len(x)}

    feeds = [{"x": RNG.standard_normal((2, 3))} for _ in range(2)]
    verdict = run_probe(noisy, feeds)
    assert verdict.outputs["y"].reason == "" and verdict.outputs["y"].max_abs == pytest.approx(2e-6)
    assert verdict.outputs["z"].reason.startswith("mixes samples")
    assert run_probe(noisy, feeds, Tolerance(outputs={"z": (0.05, 0.0)})).batchable


def test_a_model_that_takes_no_other_batch_is_not_batchable() -> None:
    def fixed(feed: dict) -> dict:
        if len(feed["x"]) != 2:
            raise RuntimeError("shape '[2, 3]' is invalid for input of size 12")
        return {"y": feed["x"]}

    verdict = run_probe(fixed, [{"x": RNG.standard_normal((2, 3))} for _ in range(2)])
    assert not verdict.batchable
    assert verdict.reason == (
        "the model failed on samples 0 and 1 merged (batch 2 + 2): RuntimeError: shape '[2, 3]' is invalid for "
        "input of size 12"
    )


def _io(inputs: list[TensorMeta], outputs: list[TensorMeta]) -> ModelIO:
    return ModelIO(inputs=inputs, outputs=outputs, call="keyword", batching=True, batch_axis=0, samples=2)


def test_a_model_that_is_not_batchable_keeps_the_samples_batch() -> None:
    feeds = clip_samples(1, 1)
    verdict = run_probe(two_tower, feeds)
    batched = _io(
        [TensorMeta(name="pixel_values", dtype="float32", shape=[-1, 3, 2, 2])],
        [
            TensorMeta(name=n, dtype="float32", shape=[-1, s])
            for n, s in (("logits_per_image", 1), ("logits_per_text", 1), ("image_embeds", 8))
        ],
    )
    fixed_in = [TensorMeta(name="pixel_values", dtype="float32", shape=[1, 3, 2, 2])]
    fixed_out = [m.model_copy(update={"shape": [1, m.shape[1]]}) for m in batched.outputs]
    io = annotate(batched, verdict, fixed_in, fixed_out)
    assert (io.batching, io.batchable) == (False, False)
    assert io.inputs[0].shape == [1, 3, 2, 2]  # not -1: every sample had batch 1
    assert [(o.name, o.shape, o.per_sample) for o in io.outputs] == [
        ("logits_per_image", [1, 1], False),
        ("logits_per_text", [1, 1], False),
        ("image_embeds", [1, 8], True),
    ]
    # a batch axis the recipe declares dynamic: the output axes that grew with the batch are dynamic too
    declared = [fixed_in[0].model_copy(update={"shape": [-1, 3, 2, 2]})]
    io = annotate(batched, verdict, declared, fixed_out)
    assert [o.shape for o in io.outputs] == [[-1, -1], [-1, -1], [-1, 8]]
    assert io.batch_reason == verdict.reason and io.batch_probe == "samples 0 and 1 merged (batch 1 + 1)"


def test_a_batchable_model_keeps_its_dynamic_batch() -> None:
    feeds = [{"x": RNG.standard_normal((2, 3))} for _ in range(2)]
    verdict = run_probe(lambda f: {"y": f["x"] * 3}, feeds)
    batched = _io(
        [TensorMeta(name="x", dtype="float64", shape=[-1, 3])], [TensorMeta(name="y", dtype="float64", shape=[-1, 3])]
    )
    io = annotate(batched, verdict, [], [])
    assert (io.batching, io.batchable, io.outputs[0].shape, io.outputs[0].per_sample) == (True, True, [-1, 3], True)
    assert io.model_dump()["inputs"][0] == {"name": "x", "dtype": "float64", "shape": [-1, 3]}  # no probe keys


def test_lists_that_follow_the_batch_need_one_batch_size() -> None:
    feeds = [{"images": np.zeros((1, 3))}, {"images": np.zeros((2, 3))}]
    outputs = [
        {"output_0.boxes": np.zeros((1, 4))},
        {"output_0.boxes": np.zeros((1, 4)), "output_1.boxes": np.zeros((2, 4))},
    ]
    with pytest.raises(StepFailed) as caught:
        check_output_lists(feeds, outputs, 0)
    message = str(caught.value)
    assert "\n" not in message
    assert (
        "sample 0 (batch 1) gave 1 outputs, sample 1 (batch 2) gave 2; give every sample the same batch size" in message
    )
    check_output_lists(feeds, [outputs[0], outputs[0]], 0)  # the same outputs: nothing to say


def test_an_output_per_sample_along_another_axis_than_the_inputs_says_which() -> None:
    from navctl.steps.batch_split import judge

    # a sequence-first RNN: inputs batch on axis 1, its head's output (batch, classes) on axis 0
    first, second = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    merged = np.concatenate([first, second], axis=0)
    verdict = judge(merged, first, second, axis=1, atol=1e-6, rtol=0.0)
    assert verdict.reason.startswith("mixes samples (shape [8, 3] for the merged batch")
    assert verdict.reason.endswith(
        "; it answers per sample along axis 0: navctl merges and splits every input and output on the one "
        "batching.batch_axis"
    )
    # shapes that split along axis 0 but with other values: no hint
    assert "answers per sample" not in judge(merged + 1.0, first, second, axis=1, atol=1e-6, rtol=0.0).reason


def test_detections_concatenated_over_the_batch_are_not_per_sample() -> None:
    def detector(feed: dict) -> dict:  # boxes[scores > t]: one row per detection, every image's together
        scores = feed["images"].reshape(len(feed["images"]), -1)
        keep = scores > 0.0
        return {"scores": scores[keep], "embedding": scores * 2}

    feeds = [{"images": RNG.standard_normal((2, 3, 4)).astype(np.float32)} for _ in range(2)]
    verdict = run_probe(detector, feeds)
    assert not verdict.batchable
    found = verdict.outputs["scores"]
    counts = [int((f["images"] > 0).sum()) for f in feeds]
    assert found.shapes == {"merged": [sum(counts)], "first": [counts[0]], "second": [counts[1]]}
    assert found.reason == (
        f"its axis 0 does not hold the batch (length {counts[0]} and {counts[1]} for parts of batch 2 and 2, "
        f"{sum(counts)} merged): a server splits answers by each request's batch size"
    )
    assert verdict.outputs["embedding"].reason == ""
    assert verdict.reason.startswith("output 'scores': its axis 0 does not hold the batch")


def test_a_pair_that_agrees_by_chance_is_overruled_by_the_other_samples() -> None:
    def detector(feed: dict) -> dict:  # one detection per image on samples 0 and 1, more on sample 2
        scores = feed["images"].reshape(len(feed["images"]), -1)
        return {"scores": scores[scores > 0.0], "embedding": scores * 2}

    one_each = np.array([[1.0, -1.0, -1.0], [-1.0, 2.0, -1.0]], dtype=np.float32)
    feeds = [{"images": one_each}, {"images": one_each * 3}, {"images": np.abs(one_each) + 1}]
    verdict = run_probe(detector, feeds)
    assert verdict.probe == "samples 0 and 1 merged (batch 2 + 2)"
    assert not verdict.batchable
    assert verdict.outputs["scores"].reason == (
        "its axis 0 does not hold the batch on sample 2 (length 6 for batch 2; the probe's pair agreed by chance)"
    )
    assert verdict.outputs["embedding"].reason == ""
    assert verdict.reason.startswith("output 'scores': its axis 0 does not hold the batch on sample 2")
