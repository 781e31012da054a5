"""Fixtures and the reliability summary; the helpers themselves live in tests/helpers.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from tests.helpers import REPO, TINY_MODEL, run_cli, write_project


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


def _made_once(tmp_path_factory, worker_id: str, name: str, make: Callable[[Path], None]) -> Path:
    """A folder that `make(folder)` fills once for all pytest workers, under a lock in the folder their
    temp folders share; the tests given it only read it."""
    shared = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        shared = shared.parent
    folder = shared / name
    with FileLock(f"{folder}.lock"):
        if not (folder / ".made").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir(parents=True)
            make(folder)
            (folder / ".made").touch()
    return folder


def _optimize(*args: str) -> None:
    result = run_cli("optimize", *args)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory, worker_id: str) -> Path:
    """One real run shared by the deployment tests: a tiny MLP in four formats, packed."""

    def make(folder: Path) -> None:
        _optimize(str(write_project(folder, targets=["torchscript-trace", "torch-export", "onnx", "openvino"])))

    return _made_once(tmp_path_factory, worker_id, "tiny_package", make) / "tiny.nav"


@pytest.fixture(scope="session")
def two_inputs_run(tmp_path_factory, worker_id: str) -> Path:
    """recipes/two_inputs.yaml run once (a tuple input, dict outputs, a per-sample scalar): its folder
    holds the workspace `ws` and the package `two-inputs.nav`."""

    def make(folder: Path) -> None:
        recipe = REPO / "recipes" / "two_inputs.yaml"
        _optimize(str(recipe), "--workspace", str(folder / "ws"), "--package", str(folder / "two-inputs.nav"))

    return _made_once(tmp_path_factory, worker_id, "two_inputs", make)


@pytest.fixture(scope="session")
def clip_like_run(tmp_path_factory, worker_id: str) -> Path:
    """A CLIP-like two-tower model (similarity matrices images x texts; samples of batch 2 and 3) run
    once in ONNX: its folder holds recipe.yaml, the workspace `ws` and the package `clip.nav`."""

    def make(folder: Path) -> None:
        recipe = write_project(
            folder,
            (REPO / "tests" / "engine" / "batch_models.py").read_text(),
            name="clip",
            model={"entrypoint": "model.py:clip"},
            dataloader={"factory": "model.py:clip_pairs"},
            targets=["onnx"],
        )
        _optimize(str(recipe))

    return _made_once(tmp_path_factory, worker_id, "clip_like", make)
