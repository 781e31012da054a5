"""Real architectures (built from configs, no downloads): Hugging Face encoders and decoders, vacuous
checks, memory figures, deployment-only packages."""

from __future__ import annotations

import zipfile

import pytest

import navctl
from tests.helpers import FAST_PROFILING, load_status, run_cli

pytestmark = pytest.mark.slow

HF_MODELS = """
import torch
from transformers import BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel


def bert():
    torch.manual_seed(0)
    config = BertConfig(num_hidden_layers=2, num_attention_heads=2, hidden_size=32, intermediate_size=64,
                        vocab_size=100, max_position_embeddings=64, num_labels=3)
    return BertForSequenceClassification(config).eval()


def gpt2():  # the default config: use_cache=True, so the output holds a DynamicCache
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=100, n_positions=64,
                                      bos_token_id=0, eos_token_id=0)).eval()


def tokens(count=3, mask=True):
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(count):
        sample = {"input_ids": torch.randint(0, 100, (2, 8), generator=g)}
        if mask:
            sample["attention_mask"] = torch.ones(2, 8, dtype=torch.int64)
        out.append(sample)
    return out
"""

ZERO_MODEL = """
import torch


class Zero(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(8, 4)
        torch.nn.init.zeros_(self.head.weight)  # like torchvision ViT's head: every output is 0
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, x):
        return self.head(x)


def build():
    return Zero().eval()


def samples(count=3):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(2, 8, generator=g) for _ in range(count)]
"""

PROFILING = {**FAST_PROFILING, "batch_sizes": [1]}


def test_bert_encoder_with_the_torchscript_group_exits_0(project) -> None:
    pytest.importorskip("transformers")
    recipe = project(
        HF_MODELS,
        model={"entrypoint": "model.py:bert"},
        dataloader={"factory": "model.py:tokens"},
        targets=["torchscript", "torch-export", "onnx"],
        profiling=PROFILING,
    )
    result = run_cli("optimize", str(recipe), timeout=600)
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    script = status["steps"]["export/torchscript-script"]
    assert script["state"] == "failed"  # torch.jit.script cannot script Hugging Face models
    assert "not counted as a failure: torchscript-trace was made" in script["reason"]
    assert "export/torchscript-script failed (not counted as a failure" in result.stderr
    for key in ("torchscript-trace@torchscript-cpu", "torch-export@torch-export-cpu", "onnx@onnxruntime-cpu"):
        assert status["results"][key]["correctness"]["passed"], key
    # memory: every step that ran records its process's peak, every profiled runner its own
    assert all(
        s["peak_rss_mb"] and s["peak_rss_mb"] > 50
        for s in status["steps"].values()
        if s["state"] == "ok" and s["kind"] != "select"
    )
    assert status["results"]["onnx@onnxruntime-cpu"]["peak_rss_mb"] > 50
    assert "peak MB" in result.stderr


def test_gpt2_with_its_cache_output_runs_every_format_that_holds_it(project) -> None:
    pytest.importorskip("transformers")
    recipe = project(
        HF_MODELS,
        model={"entrypoint": "model.py:gpt2"},
        dataloader={"factory": "model.py:tokens", "kwargs": {"mask": False}},
        targets=["torchscript-trace", "torch-export", "onnx"],
        profiling=PROFILING,
    )
    result = run_cli("optimize", str(recipe), timeout=600)
    assert result.returncode == 0, result.stderr
    status = load_status(recipe.parent / "ws")
    names = [t["name"] for t in status["outputs"]]
    assert names[0] == "logits" and len(names) == 1 + 2 * 2  # logits + (key, value) per layer
    for key in ("torchscript-trace@torchscript-cpu", "torch-export@torch-export-cpu", "onnx@onnxruntime-cpu"):
        assert status["results"][key]["correctness"]["passed"], key


def test_all_zero_outputs_are_flagged_as_a_vacuous_check(project) -> None:
    recipe = project(ZERO_MODEL, targets=["onnx"], profiling={**PROFILING, "enabled": False})
    result = run_cli("optimize", str(recipe), "--no-package")
    assert result.returncode == 0, result.stderr
    check = load_status(recipe.parent / "ws")["results"]["onnx@onnxruntime-cpu"]["correctness"]
    assert check["passed"]
    output = check["outputs"]["output_0"]
    assert output["ref_max_abs"] == 0.0 and "vacuous check" in output["warning"]
    assert any("vacuous check" in w for w in check["warnings"])
    assert "correctness: output 'output_0': vacuous check" in result.stderr


def test_selected_formats_package_deploys_and_loads(project, tmp_path) -> None:
    recipe = project(targets=["torchscript-trace", "onnx"], package_formats="selected")
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    package = recipe.parent / "tiny.nav"
    status = load_status(recipe.parent / "ws")
    chosen = {v.split("@")[0] for v in status["selection"].values() if v}
    with zipfile.ZipFile(package) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
    assert chosen <= tops
    assert not ({"torchscript-trace", "onnx"} - chosen) & tops  # the other format stayed out
    assert {"status.yaml", "model_input", "model_output", "model_io.json"} <= tops
    deploy = run_cli("triton", str(package), "--repo", str(tmp_path / "repo"))
    assert deploy.returncode == 0, deploy.stderr
    with navctl.load(package) as pkg:
        inputs, reference = pkg.samples()
        with pkg.runner() as runner:
            assert runner.infer(inputs[0])["output_0"].shape == reference[0]["output_0"].shape
