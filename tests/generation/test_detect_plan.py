"""Decoder detection from recorded names and shapes, the steps a decoder adds, and models that are not
decoders planning exactly as before."""

from __future__ import annotations

import numpy as np

from navctl.contract.decoder import detect
from navctl.contract.kind_options import GenerationOptions
from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.generation import plan_ext
from navctl.generation.loop import Generation
from navctl.generation.spec import added_steps
from navctl.plan.expand import Machine, expand
from navctl.recipe.models import Recipe
from navctl.steps.generation_check import compare

IDS = TensorMeta(name="input_ids", dtype="int64", shape=[-1, -1])
MASK = TensorMeta(name="attention_mask", dtype="int64", shape=[-1, -1])
LOGITS = TensorMeta(name="logits", dtype="float32", shape=[-1, -1, 1000])


def _cache(prefix: str, layers: int = 2) -> list[TensorMeta]:
    return [
        TensorMeta(name=f"{prefix}_{i}_{p}", dtype="float32", shape=[-1, 2, -1, 16])
        for i in range(layers)
        for p in (0, 1)
    ]


def test_a_flattened_dynamic_cache_or_legacy_tuple_is_a_decoder():
    for prefix in ("cache", "past_key_values"):
        info = detect([IDS, MASK], [LOGITS, *_cache(prefix)])
        assert info is not None
        assert (info.layers, info.heads, info.head_dim, info.vocab) == (2, 2, 16, 1000)
        assert info.cache_outputs == [f"{prefix}_0_0", f"{prefix}_0_1", f"{prefix}_1_0", f"{prefix}_1_1"]
        assert info.attention_mask == "attention_mask"


def test_the_recipe_may_name_the_cache_outputs():
    odd = [TensorMeta(name=n, dtype="float32", shape=[-1, 2, -1, 16]) for n in ("k0", "v0", "k1", "v1")]
    assert detect([IDS], [LOGITS, *odd]) is None  # names navctl does not know
    info = detect([IDS], [LOGITS, *odd], marked=["k0", "v0", "k1", "v1"])
    assert info is not None and info.layers == 2 and info.cache_outputs == ["k0", "v0", "k1", "v1"]
    assert info.attention_mask is None
    assert detect([IDS], [LOGITS, *odd], marked=["k0", "v0", "k1"]) is None  # a value missing
    assert detect([IDS], [LOGITS, *odd], marked=["k0", "v0", "nope", "v1"]) is None


def test_not_decoders():
    assert detect([IDS, MASK], [LOGITS]) is None  # no cache: use_cache=False, or a classifier
    x = TensorMeta(name="x", dtype="float32", shape=[-1, 8])
    assert detect([x], [LOGITS, *_cache("cache")]) is None  # no token ids
    assert detect([IDS], [LOGITS, *_cache("cache")[:3]]) is None  # a layer's value missing
    hidden = TensorMeta(name="last_hidden_state", dtype="float32", shape=[-1, -1, 64])
    pooled = TensorMeta(name="pooler_output", dtype="float32", shape=[-1, 64])
    assert detect([IDS, MASK], [hidden, pooled]) is None  # BERT


def _recipe(**fields) -> Recipe:
    data = {
        "name": "lm",
        "framework": "torch",
        "model": {"entrypoint": "m.py:build"},
        "dataloader": {"factory": "m.py:prompts"},
        "targets": ["onnx", "openvino", "torchscript-trace"],
        "device": "cpu",
    }
    data.update(fields)
    return Recipe.model_validate(data)


def _machine() -> Machine:
    names = ["torch", "onnx", "onnxruntime", "openvino", "transformers"]
    return Machine(cuda=False, modules={n: True for n in names})


def test_a_decoder_gains_the_generation_steps(tmp_path):
    recipe = _recipe()
    plan = expand(recipe, _machine())
    before = [s.id for s in plan.steps]
    ModelIO(
        inputs=[IDS, MASK],
        outputs=[LOGITS, *_cache("cache")],
        call="keyword",
        batching=True,
        batch_axis=0,
        samples=2,
        decoder=detect([IDS, MASK], [LOGITS, *_cache("cache")]),
    ).write(tmp_path / "model_io.json")
    steps = added_steps(plan, tmp_path, recipe)
    ids = [s.id for s in steps if s.available]
    # the CUDA runners' checks stay in the plan, unavailable with the reason, as their correctness steps
    cuda = [s for s in steps if not s.available]
    assert cuda and all(s.id.endswith("-cuda") and "cuda" in s.reason for s in cuda)
    assert ids == [
        "generation/reference",
        "generation/export/onnx",
        "generation/convert/openvino",
        "generation/export/torchscript-trace",
        "generation/check/onnx@onnxruntime-cpu",
        "generation/check/openvino@openvino-cpu",
        "generation/check/torchscript-trace@torchscript-cpu",
        "generation/profile",
    ]
    by_id = {s.id: s for s in steps}
    assert by_id["generation/convert/openvino"].deps == ["samples", "generation/export/onnx"]
    assert by_id["generation/profile"].exclusive
    # it needs the reference only and waits for every check: one that fails leaves the others measured
    assert by_id["generation/profile"].deps == ["generation/reference"]
    assert plan_ext.members(by_id["generation/profile"].after) == [
        "onnx@onnxruntime-cpu",
        "openvino@openvino-cpu",
        "torchscript-trace@torchscript-cpu",
    ]
    assert [s.id for s in plan.steps] == before  # extend is pure: the executor applies it
    off = _recipe(generation={"enabled": False})
    assert added_steps(expand(off, _machine()), tmp_path, off) == []


def test_a_model_that_is_not_a_decoder_plans_as_before(tmp_path):
    recipe = _recipe(targets=["onnx", "openvino"])
    plan = expand(recipe, _machine())
    assert not any(s.id.startswith("generation/") or s.kind == "generation" for s in plan.steps)
    ModelIO(inputs=[IDS, MASK], outputs=[LOGITS], call="keyword", batching=True, batch_axis=0, samples=2).write(
        tmp_path / "model_io.json"
    )
    assert added_steps(plan, tmp_path, recipe) == []
    assert added_steps(plan, tmp_path / "missing", recipe) == []


def _run(tokens, logits):
    return Generation(tokens=np.array(tokens), step_logits=[np.array(x, dtype=np.float32) for x in logits])


def test_compare_reports_the_first_diverging_step_with_both_tokens():
    opts = GenerationOptions(atol=1e-4, rtol=1e-3)
    want = [np.array([[5, 6, 7]])]
    ref_logits = [np.zeros((3, 1, 4), dtype=np.float32)]
    same = compare(want, [_run([[5, 6, 7]], np.zeros((3, 1, 4)))], opts, ref_logits=ref_logits)
    assert same.passed and same.tokens_match and same.logits_max_abs == [0.0, 0.0, 0.0]
    off = compare(want, [_run([[5, 9, 7]], np.zeros((3, 1, 4)))], opts, ref_logits=ref_logits)
    assert not off.passed and not off.tokens_match
    assert off.first_divergence.model_dump() == {"step": 1, "prompt": 0, "row": 0, "expected": 6, "actual": 9}
    assert "diverges at step 1: expected token 6, got 9" in off.problem
    drift = np.zeros((3, 1, 4))
    drift[2] += 0.01
    logits_off = compare(want, [_run([[5, 6, 7]], drift)], opts, ref_logits=ref_logits)
    assert logits_off.tokens_match and not logits_off.passed and "step 2's logits" in logits_off.problem
    int8 = opts.model_copy(update={"precision": "int8"})
    reduced = compare(want, [_run([[5, 6, 7]], drift)], int8, ref_logits=ref_logits)
    assert reduced.passed and reduced.gate.startswith("tokens")  # reduced precision: tokens decide


def test_the_measurement_leaves_out_formats_whose_check_did_not_pass(tmp_path):
    """Members whose check was rejected, failed or never wrote a result are not loaded, and say why."""
    from types import SimpleNamespace

    from navctl.contract.step import StepResult
    from navctl.steps.child import StepContext
    from navctl.steps.generation_profile import _steps

    checks = {}
    for key, state in (("onnx-int8@onnxruntime-cpu", "rejected"), ("onnx-fp16@onnxruntime-cpu", "failed")):
        path = tmp_path / "steps" / "generation" / "check" / key / "result.json"
        path.parent.mkdir(parents=True)
        path.write_text(StepResult(kind="generation", state=state).model_dump_json())
        checks[key] = str(path.relative_to(tmp_path))
    checks["openvino@openvino-cpu"] = "steps/generation/check/openvino@openvino-cpu/result.json"  # crashed
    options = GenerationOptions(members={key: "absent.onnx" for key in checks}, checks=checks)
    ctx = StepContext(spec=SimpleNamespace(options=options, threads=1), workspace=tmp_path)
    steps, problems = _steps(ctx, layout=None)
    assert steps == {}
    assert problems == {
        "onnx-int8@onnxruntime-cpu": "its generation check rejected",
        "onnx-fp16@onnxruntime-cpu": "its generation check failed",
        "openvino@openvino-cpu": "its generation check did not finish",
    }
