"""Shared helpers: run the CLI for real, write small recipes and model files the tests build."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

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


def load_status(workspace: Path) -> dict:
    return yaml.safe_load((workspace / "status.yaml").read_text())


@pytest.fixture
def project(tmp_path: Path):
    """Factory: project(**recipe_fields) -> recipe path in a fresh folder."""
    counter = iter(range(1000))

    def make(model_code: str = TINY_MODEL, **fields) -> Path:
        return write_project(tmp_path / f"p{next(counter)}", model_code, **fields)

    return make


# ----- reliability summary: one line per category, e.g. "faults: 10 tried, 10 contained" -----------
_RELIABILITY: dict[str, list[int]] = {}


def pytest_runtest_logreport(report) -> None:
    if "tests/reliability/test_" not in report.nodeid:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        category = report.nodeid.split("tests/reliability/test_")[1].split(".py")[0].replace("_", " ")
        tally = _RELIABILITY.setdefault(category, [0, 0])
        tally[0] += 1
        tally[1] += report.outcome == "passed"


def pytest_terminal_summary(terminalreporter) -> None:
    if not _RELIABILITY:
        return
    terminalreporter.write_sep("-", "reliability")
    for category, (tried, contained) in sorted(_RELIABILITY.items()):
        terminalreporter.write_line(f"{category}: {tried} tried, {contained} contained")


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


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory) -> Path:
    """One real run shared by the deployment tests: a tiny MLP in four formats, packed."""
    folder = tmp_path_factory.mktemp("tiny_package")
    recipe = write_project(folder, targets=["torchscript-trace", "torch-export", "onnx", "openvino"])
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    return folder / "tiny.nav"
