"""Models that are not one row in, one row out: the batch probe's verdicts in real runs, and what follows
from them (exports at the samples' batch, the plan and the run notes saying why)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from navctl.report.notes import run_notes
from navctl.status import read_status
from tests.helpers import REPO, load_status, run_cli

pytestmark = pytest.mark.slow
BATCH_MODELS = (REPO / "tests" / "engine" / "batch_models.py").read_text()


def _outputs(status: dict) -> dict[str, dict]:
    return {o["name"]: o for o in status["outputs"]}


def test_similarity_matrices_make_a_clip_like_model_not_batchable(clip_like_run: Path) -> None:
    ws = clip_like_run / "ws"
    status = load_status(ws)
    outputs = _outputs(status)
    for name in ("logits_per_image", "logits_per_text"):
        assert outputs[name]["per_sample"] is False
        assert outputs[name]["probe"]["shapes"] == {"merged": [5, 5], "first": [2, 2], "second": [3, 3]}
        assert outputs[name]["shape"] == [-1, -1]
    for name in ("image_embeds", "text_embeds"):
        assert outputs[name]["per_sample"] is True and outputs[name]["probe"]["max_abs"] < 1e-5
        assert outputs[name]["shape"] == [-1, 8]
    assert status["batching"]["batchable"] is False
    assert status["batching"]["probe"] == "samples 0 and 1 merged (batch 2 + 3)"
    assert status["batching"]["reason"].startswith("outputs 'logits_per_image', 'logits_per_text': mixes samples")
    io = json.loads((ws / "model_io.json").read_text())
    assert (io["batching"], io["batchable"]) == (False, False)
    assert {o["name"]: o["per_sample"] for o in io["outputs"]} == {
        "logits_per_image": False,
        "logits_per_text": False,
        "image_embeds": True,
        "text_embeds": True,
    }
    # the samples differ in batch, so the exported inputs stay dynamic there: a client may send one pair
    assert [t["shape"] for t in status["inputs"]] == [[-1, 3, 2, 2], [-1, 5]]
    assert status["run"]["exit_code"] == 0
    notes = run_notes(read_status(ws))
    assert any(
        n.startswith("samples: not batchable, requests are never merged: outputs 'logits_per_image'") for n in notes
    )
    plan = run_cli("plan", str(clip_like_run / "recipe.yaml"))
    assert plan.returncode == 0, plan.stderr
    said = " ".join(plan.stdout.split())
    assert "not batchable (the last run's samples step, samples 0 and 1 merged (batch 2 + 3)): outputs" in said
    assert "Triton gets max_batch_size 0 with no dynamic batching" in said


def test_inputs_of_unequal_batch_sizes_run_unbatched_with_the_reason(project) -> None:
    # CLIP fed three texts and two images a sample, with the default batching: no batch to share
    recipe = project(
        BATCH_MODELS,
        model={"entrypoint": "model.py:clip"},
        dataloader={"factory": "model.py:clip_unequal"},
        targets=["onnx"],
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    reason = "the inputs disagree on the batch size along axis 0 (sample 0: {'pixel_values': 2, 'input_ids': 3})"
    assert status["batching"] == {"enabled": True, "batchable": False, "probe": "", "reason": reason}
    assert [t["shape"] for t in status["inputs"]] == [[2, 3, 2, 2], [3, 5]]
    assert status["results"]["onnx@onnxruntime-cpu"]["correctness"]["passed"] is True
    assert [r["batch_size"] for r in status["results"]["onnx@onnxruntime-cpu"]["profile"]] == [1]
    said = " ".join(result.stderr.split())
    assert f"samples: not batchable, requests are never merged: {reason}" in said
    assert "throughput of a model that is not batchable counts requests: one request is one sample" in said


def test_a_per_image_list_detector_exports_at_its_samples_batch(project) -> None:
    recipe = project(
        BATCH_MODELS,
        model={"entrypoint": "model.py:detector"},
        dataloader={"factory": "model.py:images"},
        targets=["torchscript-trace", "torch-export", "onnx"],
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    ws = recipe.parent / "ws"
    status = load_status(ws)
    states = {k: v["state"] for k, v in status["steps"].items() if v["state"] != "unavailable"}
    assert set(states.values()) == {"ok"}, states
    assert status["batching"]["reason"] == (
        "the model returns a list with one entry per sample (3 outputs for the first part alone and 6 for both merged)"
    )
    assert [o["name"] for o in status["outputs"]] == ["output_0.boxes", "output_0.scores", "output_0.labels"]
    assert all(o["per_sample"] is False for o in status["outputs"])
    # every sample had batch 1: that is the batch the exports were traced at and keep
    assert status["inputs"][0]["shape"] == [1, 3, 8, 8]
    import onnx

    graph = onnx.load(str(ws / "onnx" / "model.onnx")).graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim] == [1, 3, 8, 8]
    for key in ("torchscript-trace@torchscript-cpu", "torch-export@torch-export-cpu", "onnx@onnxruntime-cpu"):
        assert status["results"][key]["correctness"]["passed"] is True, key
