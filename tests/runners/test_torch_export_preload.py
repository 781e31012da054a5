"""The worker's annex imports what a torch-export step would import on its own: every step forked from
it (export, correctness, the profile session's runner) then loads a saved program without importing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from navctl.plan import registry

# Loading a saved ExportedProgram imports torch.export._trace (torch._inductor's caches, networkx):
# 0.3 s of a 0.44 s correctness step on a small MLP when the annex did not import it first.
_SAVE = r"""
import sys, torch
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).eval()
batch = torch.export.Dim("batch", min=1, max=64)
torch.export.save(torch.export.export(model, (torch.randn(2, 4),), dynamic_shapes=({0: batch},)), sys.argv[1])
"""
# a fresh process, as a step forked from the annex: exporting in it would import everything first
_LOAD = r"""
import importlib, json, sys
import torch
for module in json.loads(sys.argv[2]):
    importlib.import_module(module)
before = set(sys.modules)
out = torch.export.load(sys.argv[1]).module()(torch.randn(3, 4))
print(json.dumps({"new": sorted(set(sys.modules) - before), "shape": list(out.shape)}))
"""


def test_loading_a_saved_program_imports_nothing_past_the_annex(tmp_path: Path) -> None:
    runtime = registry.RUNTIMES["torch-export"]
    modules = list(runtime.preload + runtime.preload_later)
    path = str(tmp_path / "model.pt2")
    saved = subprocess.run([sys.executable, "-c", _SAVE, path], capture_output=True, text=True, timeout=300)
    assert saved.returncode == 0, saved.stderr[-2000:]
    done = subprocess.run(
        [sys.executable, "-c", _LOAD, path, json.dumps(modules)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["shape"] == [3, 2]
    heavy = [m for m in report["new"] if m.split(".")[0] == "networkx" or m.startswith("torch._inductor.codecache")]
    assert heavy == [], f"imported while loading, past the annex: {heavy[:10]} ({len(report['new'])} modules)"
