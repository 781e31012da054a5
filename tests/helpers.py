"""Helpers shared by tests: run the CLI for real, write small recipes and model files, watch processes.
conftest.py holds fixtures only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

from navctl.loadtest.server import free_ports  # noqa: F401 - the tests' own import point

REPO = Path(__file__).resolve().parents[1]

TINY_MODEL = """
import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return torch.relu(self.fc(x))


def build():
    torch.manual_seed(0)
    return Tiny()


def samples(count=3, batch=2):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 8, generator=g) for _ in range(count)]
"""

SEGFAULT = (
    TINY_MODEL
    + """

def build_segv():
    import ctypes
    # Crash whichever process traces this model, as a buggy converter would.
    torch.jit.trace = lambda *a, **k: ctypes.string_at(0)
    return build()
"""
)


def three_recipes(folder: Path) -> list[Path]:
    """A fleet: a good tiny model, one whose model segfaults whoever traces it, one with two inputs."""
    good = write_project(folder / "good", name="good")
    crash = write_project(
        folder / "crash",
        SEGFAULT,
        name="crash",
        model={"entrypoint": "model.py:build_segv"},
        targets=["torchscript-trace"],
    )
    shutil.copytree(REPO / "recipes" / "models", folder / "pair" / "models", ignore=shutil.ignore_patterns("*.onnx"))
    recipe = yaml.safe_load((REPO / "recipes" / "two_inputs.yaml").read_text())
    recipe.update(name="pair", targets=["onnx"], profiling=dict(FAST_PROFILING), threads=1, workspace="ws")
    pair = folder / "pair" / "recipe.yaml"
    pair.write_text(yaml.safe_dump(recipe))
    return [good, crash, pair]


def check_three_recipes(result: subprocess.CompletedProcess, fleet: Path) -> dict:
    """What a fleet of `three_recipes` must leave, whichever executor ran it; returns the runs by name."""
    import json

    assert result.returncode == 1, result.stderr[-4000:]
    document = json.loads(result.stdout)
    runs = {run["recipe"]: run for run in document["runs"]}
    assert document["exit_code"] == 1 and set(runs) == {"good", "crash", "pair"}
    trace = load_status(fleet / "crash")["steps"]["export/torchscript-trace"]
    assert trace["state"] == "crashed" and trace["reason"].startswith("SIGSEGV")
    assert runs["crash"]["exit_code"] == 1 and runs["crash"]["steps_failed"] == 1
    for name, inputs in (("good", 1), ("pair", 2)):
        status = load_status(fleet / name)
        assert status["run"]["exit_code"] == 0 and len(status["inputs"]) == inputs
        assert status["selection"]["max-throughput"] == "onnx@onnxruntime-cpu"
        assert Path(runs[name]["package"]) == fleet / f"{name}.nav" and (fleet / f"{name}.nav").is_file()
    return runs


# Enough to exercise profiling for real while keeping each profile step well under a second.
FAST_PROFILING = {
    "batch_sizes": [1, 4],
    "warmup_s": 0.01,
    "window_ms": 10,
    "windows": 2,
    "stability_pct": 50,
    "max_trials": 3,
}


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300):
    """Run `python -m navctl ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None) if env is None or "GITHUB_ACTIONS" not in env else None
    return subprocess.run(
        [sys.executable, "-m", "navctl", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_project(folder: Path, model_code: str = TINY_MODEL, name: str = "tiny", **fields) -> Path:
    """A recipe.yaml + model.py in `folder`; `fields` replace the recipe's defaults."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(textwrap.dedent(model_code))
    recipe = {
        "name": name,
        "framework": "torch",
        "model": {"entrypoint": "model.py:build"},
        "dataloader": {"factory": "model.py:samples"},
        "targets": ["onnx"],
        "device": "cpu",
        "threads": 1,
        "profiling": dict(FAST_PROFILING),
        "step_timeout": "60s",
        "workspace": "ws",
    }
    recipe.update(fields)
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def step_spec(step_id: str, **fields):
    """A step's spec.json content for calling a step function in-process, with the fields a test does
    not care about filled in."""
    from navctl.steps.contract import ModelRef, StepSpec

    defaults = {"kind": step_id.split("/")[0], "function": "", "framework": "torch", "model": ModelRef()}
    return StepSpec(step_id=step_id, **{**defaults, **fields})


def load_status(workspace: Path) -> dict:
    return yaml.safe_load((workspace / "status.yaml").read_text())


def processes_running(marker: str) -> set[int]:
    """Processes whose command line contains `marker` (a program name, a temp folder)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def leftover_processes(workspace: Path) -> list[int]:
    """Processes whose working folder is inside the workspace (step processes run there)."""
    found = []
    root = str(workspace.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if (cwd == root or cwd.startswith(root + "/")) and state != "Z":
            found.append(int(entry.name))
    return found


def wait_no_leftovers(workspace: Path, seconds: float = 10.0) -> list[int]:
    import time

    deadline = time.monotonic() + seconds
    while (left := leftover_processes(workspace)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stop_server(server) -> str:
    """SIGINT a `navctl serve` process, wait for it, and check nothing of its process group outlives it."""
    import signal
    import subprocess
    import time

    server.send_signal(signal.SIGINT)
    try:
        output, _ = server.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        raise
    deadline = time.monotonic() + 15
    while group_alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_alive(server.pid), "a server process outlived navctl serve"
    assert server.returncode == 0, output
    return output
