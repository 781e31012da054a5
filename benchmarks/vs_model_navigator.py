"""navctl against NVIDIA Triton Model Navigator on the same models, targets and machine, side by side.

Model Navigator (the reference navctl must beat) is installed apart from navctl's environment:

    python -m venv /tmp/mnv
    echo $PWD/.venv/lib/python3.11/site-packages > /tmp/mnv/lib/python3.11/site-packages/navctl.pth
    /tmp/mnv/bin/pip install --no-deps triton-model-navigator==0.14.0 dacite fire jsonlines loguru \\
        onnx_graphsurgeon 'pynvml~=11.5' python-slugify text-unidecode pyee termcolor py-cpuinfo

(its runtime dependencies without tensorrt and nvidia-modelopt; torch, onnx, onnxruntime, polygraphy come
from navctl's venv). Then:

    .venv/bin/python benchmarks/vs_model_navigator.py --mn-python /tmp/mnv/bin/python [--rounds 2]

Each round runs navctl and then Model Navigator (`nav.torch.optimize(..., target_device=cpu)`) on each
model in fresh workspaces, one after the other, so both see the same machine; the ratio is navctl's wall
time over Model Navigator's in that round. Both get the same model code, the same 8 samples of batch 4 and
the targets torchscript (trace and script), torch.export and ONNX; both check correctness and profile.
navctl profiles every runner (source, torchscript, torch.export, ONNX Runtime) side by side.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

MODELS = """
import torch


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
    ).eval()


def cnn():
    torch.manual_seed(0)

    def block(cin, cout):
        return [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU()]

    return torch.nn.Sequential(
        *block(3, 16), *block(16, 32), torch.nn.MaxPool2d(2), *block(32, 64), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(64, 10),
    ).eval()


def _batches(shape, count=8, batch=4):
    g = torch.Generator().manual_seed(1)
    return [torch.randn(batch, *shape, generator=g) for _ in range(count)]


def mlp_samples():
    return _batches((64,))


def cnn_samples():
    return _batches((3, 32, 32))
"""

MODEL_NAVIGATOR = """
import sys
import model_navigator as nav
sys.path.insert(0, sys.argv[1])
import models

name, workspace = sys.argv[2], sys.argv[3]
nav.torch.optimize(
    getattr(models, name)(),
    getattr(models, name + "_samples")(),
    target_formats=(nav.Format.TORCHSCRIPT, nav.Format.TORCH_EXPORTEDPROGRAM, nav.Format.ONNX),
    target_device=nav.DeviceKind.CPU,
    workspace=workspace,
)
"""


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return wall


def write_recipe(folder: Path, name: str, workspace: str) -> Path:
    """navctl's recipe for one of MODELS (beside models.py in `folder`): the same targets as the peer's."""
    recipe = {
        "name": name,
        "framework": "torch",
        "model": {"entrypoint": f"models.py:{name}"},
        "dataloader": {"factory": f"models.py:{name}_samples"},
        "targets": ["torchscript", "torch-export", "onnx"],
        "device": "cpu",
        "workspace": workspace,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def navctl(folder: Path, name: str, round_: int) -> tuple[float, int]:
    workspace = f"navctl-{name}-{round_}"
    path = write_recipe(folder, name, workspace)
    wall = timed([sys.executable, "-m", "navctl", "optimize", str(path), "--no-package"], folder)
    status = yaml.safe_load((folder / workspace / "status.yaml").read_text())
    return wall, sum(1 for r in status["results"].values() if r.get("profile"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mn-python", required=True, help="an interpreter with triton-model-navigator installed")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    names = args.models.split(",")
    walls: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "models.py").write_text(textwrap.dedent(MODELS))
        (folder / "mn_run.py").write_text(textwrap.dedent(MODEL_NAVIGATOR))
        for round_ in range(args.rounds):
            for name in names:
                ours, profiled = navctl(folder, name, round_)
                theirs = timed(
                    [args.mn_python, str(folder / "mn_run.py"), str(folder), name, str(folder / f"mn-{name}-{round_}")],
                    folder,
                )
                walls[name].append((ours, theirs))
                print(
                    f"round {round_ + 1} {name}: navctl {ours:.1f} s ({profiled} runners profiled), "
                    f"Model Navigator {theirs:.1f} s: {ours / theirs:.2f}x",
                    flush=True,
                )
    for name, pairs in walls.items():
        ratios = [ours / theirs for ours, theirs in pairs]
        print(f"{name}: navctl / Model Navigator wall time, median of {len(ratios)}: {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
