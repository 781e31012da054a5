"""What the worker's annex saves by importing the libraries the user's files import (transformers).

Runs a Hugging Face BERT and GPT-2 (built from small configs: nothing is downloaded) through
`navctl.optimize` with targets torchscript-trace, torch-export and onnx, each round twice, alternating:
as navctl runs it, and with the annex told no libraries (every step then imports transformers with the
model file itself, about 3 s a step on a 2-core machine). Prints the wall times and their ratio, and
checks both runs selected the same format.

Run: .venv/bin/python benchmarks/library_preload.py [--rounds N]   (needs transformers)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

MODELS = """
import torch
from transformers import BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel


def bert():
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(num_hidden_layers=2, num_attention_heads=2, hidden_size=32,
        intermediate_size=64, vocab_size=100, max_position_embeddings=64, num_labels=3)).eval()


def gpt2():
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_layer=2, n_head=2, n_embd=32, vocab_size=100, n_positions=64,
                                      bos_token_id=0, eos_token_id=0)).eval()


def tokens(count=3):
    g = torch.Generator().manual_seed(0)
    return [{"input_ids": torch.randint(0, 100, (2, 8), generator=g)} for _ in range(count)]
"""

# The same run, with the annex told no libraries when `without` is set.
DRIVER = """
import sys
import navctl
import navctl.engine.executor as executor

if sys.argv[2] == "without":
    make = executor.make_launcher
    executor.make_launcher = lambda preload, stderr=None, later=(), libraries=(): make(preload, stderr, later)
navctl.optimize(sys.argv[1])
"""


def run(folder: Path, model: str, variant: str, round_: int) -> tuple[float, str]:
    workspace = folder / f"{model}-{variant}-{round_}"
    recipe = {
        "name": model,
        "framework": "torch",
        "model": {"entrypoint": f"models.py:{model}"},
        "dataloader": {"factory": "models.py:tokens"},
        "targets": ["torchscript-trace", "torch-export", "onnx"],
        "device": "cpu",
        "profiling": {"batch_sizes": [1]},
        "workspace": str(workspace),
    }
    path = folder / f"{model}-{variant}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", DRIVER, str(path), variant], check=True, capture_output=True, cwd=folder)
    wall = time.perf_counter() - started
    status = yaml.safe_load((workspace / "status.yaml").read_text())
    return wall, status["selection"]["max-throughput"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="navctl-preload-") as tmp:
        folder = Path(tmp)
        (folder / "models.py").write_text(MODELS)
        print(f"{'model':<6} {'round':>5} {'with s':>7} {'without s':>10} {'ratio':>6}  selection")
        for model in ("bert", "gpt2"):
            ratios = []
            for round_ in range(args.rounds):
                with_s, with_pick = run(folder, model, "with", round_)
                without_s, without_pick = run(folder, model, "without", round_)
                ratios.append(with_s / without_s)
                same = "same" if with_pick == without_pick else f"differs: {with_pick} / {without_pick}"
                print(f"{model:<6} {round_:>5} {with_s:7.1f} {without_s:10.1f} {ratios[-1]:6.2f}  {same}")
            print(f"{model:<6} median ratio {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
