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


LAYERED_MODEL = """
import json
from pathlib import Path

import torch
from tiny_layers import Tiny  # a module of the user's own, beside this file


def build():
    # a file read at run time that no import names: listed in the recipe's runtime_files
    settings = json.loads((Path(__file__).parents[1] / "data" / "good.json").read_text())
    torch.manual_seed(settings["seed"])
    return Tiny()


def samples(count=3, batch=2):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 8, generator=g) for _ in range(count)]
"""


def three_recipes(folder: Path) -> list[Path]:
    """A fleet laid out as zoos often are: the recipes in `recipes/`, their code in a sibling `models/`
    (`../models/...` entrypoints). A good tiny model (whose class lives in a module it imports, and which
    reads a runtime file from a sibling `data/`), one whose model segfaults whoever traces it, one with
    two inputs."""
    models, recipes = folder / "models", folder / "recipes"
    models.mkdir(parents=True, exist_ok=True)
    (models / "tiny.py").write_text(textwrap.dedent(LAYERED_MODEL))
    (models / "tiny_layers.py").write_text(textwrap.dedent(TINY_MODEL))
    (models / "crash.py").write_text(textwrap.dedent(SEGFAULT))
    shutil.copy(REPO / "recipes" / "models" / "two_inputs.py", models / "two_inputs.py")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "good.json").write_text('{"seed": 0}')
    good = _sibling_recipe(recipes, "good", "tiny.py:build", "tiny.py:samples", runtime_files=["../data/good.json"])
    crash = _sibling_recipe(recipes, "crash", "crash.py:build_segv", "crash.py:samples", targets=["torchscript-trace"])
    recipe = yaml.safe_load((REPO / "recipes" / "two_inputs.yaml").read_text())
    pair = _sibling_recipe(
        recipes,
        "pair",
        "two_inputs.py:build",
        "two_inputs.py:samples",
        correctness=recipe["correctness"],
    )
    return [good, crash, pair]


def _sibling_recipe(recipes: Path, name: str, model: str, samples: str, **fields) -> Path:
    recipes.mkdir(parents=True, exist_ok=True)
    recipe = {
        "name": name,
        "framework": "torch",
        "model": {"entrypoint": f"../models/{model}"},
        "dataloader": {"factory": f"../models/{samples}"},
        "targets": ["onnx"],
        "device": "cpu",
        "threads": 1,
        "profiling": dict(FAST_PROFILING),
        "step_timeout": "60s",
        "workspace": f"ws_{name}",
        **fields,
    }
    path = recipes / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


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
    good = load_status(fleet / "good")
    recipe = (fleet / "good" / good["recipe"]["path"]).resolve()
    assert recipe.relative_to(recipe.parents[1]).as_posix() == "recipes/good.yaml"  # the local recipe
    # what the cache watched: outside the recipe's folder, so named by absolute (local) paths
    wanted = {recipe.parents[1] / name for name in ("models/tiny.py", "models/tiny_layers.py", "data/good.json")}
    assert {Path(entry["path"]) for entry in good["user_files"]} == wanted
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
    # pytest-xdist sets COLUMNS=80 in its workers: without it the output is a pipe's (160 columns), in
    # every worker and alone alike
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    full_env.update(env or {})
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


FILES_MODEL = """
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import torch
from layers import Block
from pkg.sub import thing

try:
    import fast_ops
except ImportError:
    fast_ops = None

if TYPE_CHECKING:
    import typed_only


def build():
    return Block()
"""

# path -> content; the recipe lives in recipes/, its code beside it in models/ and data/
FILES_PROJECT = {
    "models/model.py": FILES_MODEL,
    "models/layers.py": "import os\nfrom common import act\n\nclass Block:\n    pass\n",
    "models/common.py": "act = None\n",
    "models/fast_ops.py": "",
    "models/unused.py": "import layers\n",  # imported by nothing: not in the set
    "models/pkg/__init__.py": "",
    "models/pkg/shared.py": "",
    "models/pkg/sub/__init__.py": "from .helpers import h\nfrom .. import shared\n",
    "models/pkg/sub/helpers.py": "h = 1\n",
    "models/pkg/sub/thing.py": "",
    "data/loader.py": "import numpy as np\n\ndef samples():\n    import tokenize_utils\n    return []\n",
    "data/tokenize_utils.py": "import json\n",
    "data/calib.py": "def calibration_set():\n    return []\n",
    "recipes/checks.py": "def verify(outputs, reference):\n    return True\n",
    "weights/a.bin": "a",
    "weights/b.bin": "b",
    "weights/notes.txt": "not matched by the glob",
}

FILES_RECIPE = {
    "name": "files",
    "framework": "torch",
    "model": {"entrypoint": "../models/model.py:build"},
    "dataloader": {"factory": "../data/loader.py:samples"},
    "verify": {"function": "checks.py:verify"},
    "quantization": {"calibration": {"factory": "../data/calib.py:calibration_set"}},
    "runtime_files": ["../weights/*.bin"],
    "targets": ["torchscript-trace", "onnx", "onnx-int8"],
    "device": "cpu",
    "threads": 1,
    "profiling": dict(FAST_PROFILING),
    "workspace": "ws",
}


def files_project(root: Path, **fields) -> Path:
    """A recipe in recipes/ whose code lives in sibling folders and reaches every kind of user file: a model
    with local imports of each form, a dataloader importing inside its body, a calibration factory, a
    verify function and runtime files; `fields` replace the recipe's."""
    for name, text in FILES_PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    recipe = root / "recipes" / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**FILES_RECIPE, **fields}, sort_keys=False))
    return recipe


def step_spec(step_id: str, **fields):
    """A step's spec.json content for calling a step function in-process, with the fields a test does
    not care about filled in."""
    from navctl.contract.step import ModelRef, StepSpec

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


def start_server(package: Path, *args: str, ready: tuple[str, ...] = (), env: dict | None = None, timeout: float = 180):
    """`navctl serve PACKAGE ARGS` on three free 127.0.0.1 ports, in its own process group; returns
    (process, http port) once every model named in `ready` answers is_model_ready (nothing named: at once).
    Stop it with stop_server; a server that ends or never gets ready fails the test with its output."""
    import signal
    import time

    import pytest

    http_port, grpc_port, metrics_port = free_ports(3)
    server = subprocess.Popen(
        [sys.executable, "-m", "navctl", "serve", str(package), *args]
        + ["--http-port", str(http_port), "--grpc-port", str(grpc_port), "--metrics-port", str(metrics_port)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    if not ready:
        return server, http_port
    from tritonclient import http

    client = http.InferenceServerClient(f"127.0.0.1:{http_port}")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                if all(client.is_model_ready(name) for name in ready):
                    return server, http_port
            except Exception:  # noqa: BLE001 - not listening yet
                pass
            if server.poll() is not None:
                pytest.fail(f"navctl serve ended with {server.returncode}: {server.stdout.read()[-3000:]}")
            time.sleep(0.5)
        os.killpg(server.pid, signal.SIGKILL)
        pytest.fail(f"the server never became ready: {', '.join(ready)}: {server.communicate()[0][-3000:]}")
    finally:
        client.close()


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


def profile_point(batch: int, throughput: float, p50: float = 1.0, vs: float | None = None, stable: bool = True):
    """A status.yaml profile record, built by hand for the report and diff tests."""
    from navctl.records.results import ProfileRecord

    return ProfileRecord(
        batch_size=batch,
        mean_ms=p50,
        p50_ms=p50,
        p90_ms=p50 * 1.1,
        p95_ms=p50 * 1.2,
        p99_ms=p50 * 1.5,
        throughput=throughput,
        cv=0.05,
        stable=stable,
        requests=50,
        vs_reference=vs,
    )


def hand_status(results: dict, name: str = "demo", **fields):
    """A Status with `results` (format@runner -> RunnerResult) and the other fields filled in."""
    from navctl.status import EnvironmentInfo, RecipeInfo, RunInfo, Status, ToolInfo

    return Status(
        tool=ToolInfo(version="0.1.0"),
        recipe=RecipeInfo(path="../recipe.yaml", sha256="x", name=name),
        environment=EnvironmentInfo(python="3.11", platform="linux", cpu="test cpu", threads=2),
        run=RunInfo(started_at="2026-01-01T00:00:00+00:00"),
        results=results,
        **fields,
    )


def status_package(path: Path, status, files: dict[str, bytes] | None = None) -> Path:
    """A .nav holding `status` (and `files`, archive name -> bytes), as the report and diff tests read it."""
    import zipfile

    from navctl.status import dump_status

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("status.yaml", dump_status(status))
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return path
