"""Model Navigator in a venv of its own, as a torch user on a CPU machine installs it; and a check of what it sees.

`triton-model-navigator` 0.14.0 declares tensorrt, nvidia-modelopt[onnx] and (on x86_64) onnxruntime-gpu
as hard requirements: CUDA-only and several GB, of no use on a CPU machine. So it is installed
`--no-deps`, followed by every other runtime requirement of its metadata as declared, with the CPU
build of the same ONNX Runtime in place of onnxruntime-gpu (the one navctl runs), and the `torch`
extra without torch_tensorrt. torch is pinned to the CPU build of 2.13.0, navctl's version, by a
constraints file, so no requirement can pull another torch build.

Run as a script, it creates the venv: `python benchmarks/mn_venv.py /work/mn-venv`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MODEL_NAVIGATOR = "triton-model-navigator==0.14.0"
TORCH = "torch==2.13.0"
# Requires-Dist of triton-model-navigator 0.14.0, less tensorrt, nvidia-modelopt[onnx] and
# onnxruntime-gpu (replaced by onnxruntime); then its `torch` extra less torch_tensorrt.
RUNTIME = [
    "dacite~=1.8", "fire>=0.4.0", "jsonlines>=3.1.0", "loguru>=0.7.2", "mpmath~=1.3", "numpy<2", "onnx~=1.16",
    "onnx_graphsurgeon~=0.5", "onnxruntime~=1.20", "onnxscript", "packaging~=24.1", "polygraphy>=0.49.0",
    "psutil>=5.7", "py-cpuinfo>=8.0", "pynvml~=11.5", "python-slugify~=8.0", "pyyaml~=6.0", "tabulate>=0.8",
    "tritonclient[grpc]~=2.47", "wrapt>=1.16", "pyee>=11.1.0", "rich>=13.7.1",
    "protobuf>=4",
]
# Modules navctl's venv has and a torch user's Model Navigator install does not.
FOREIGN = ["navctl", "tensorflow", "jax", "openvino", "ray"]


def install_commands(venv: Path) -> list[list[str]]:
    """The exact commands that make the venv (the docstring of vs_model_navigator.py prints them)."""
    pip = [str(venv / "bin" / "pip"), "install", "-c", str(venv / "constraints.txt")]
    return [
        ["python3", "-m", "venv", str(venv)],
        pip + [TORCH],
        pip + ["--no-deps", MODEL_NAVIGATOR],
        pip + RUNTIME,
    ]


def _imports(python: Path) -> bool:
    return subprocess.run([python, "-c", "import model_navigator"], capture_output=True).returncode == 0


def make(venv: Path) -> Path:
    """Create the venv (once: an existing one with Model Navigator in it is kept); its interpreter."""
    python = venv / "bin" / "python"
    if python.exists() and _imports(python):
        return python
    commands = install_commands(venv)
    subprocess.run(commands[0], check=True)
    (venv / "constraints.txt").write_text(TORCH + "\n")
    for command in commands[1:]:
        print("+", " ".join(command), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return python


_PROBE = """
import importlib.util, json, sys
import torch, model_navigator
print(json.dumps({
    "torch": torch.__version__, "model_navigator": model_navigator.__version__,
    "foreign": [m for m in sys.argv[1:] if importlib.util.find_spec(m) is not None],
}))
"""


def environment() -> dict[str, str]:
    """The process environment Model Navigator runs in: ours without PYTHONPATH (which points at navctl)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def describe(python: Path) -> str:
    """One line saying which Model Navigator environment is measured; says loudly when it sees navctl's packages."""
    # from /, so that `-c`'s current-folder entry on sys.path finds no checkout of navctl
    probe = [str(python), "-c", _PROBE, *FOREIGN]
    done = subprocess.run(probe, capture_output=True, text=True, env=environment(), cwd="/")
    if done.returncode != 0:
        raise SystemExit(f"{python} cannot import torch and model_navigator:\n{done.stderr[-2000:]}")
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    versions = f"Model Navigator {seen['model_navigator']}, torch {seen['torch']}"
    if seen["foreign"]:
        return f"SHARED environment (sees navctl's site-packages: {', '.join(seen['foreign'])}), {versions}"
    return f"own environment (torch + Model Navigator's runtime dependencies only), {versions}"


if __name__ == "__main__":
    print(describe(make(Path(sys.argv[1]).resolve())))
