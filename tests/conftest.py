"""Fixtures and the reliability summary; the helpers themselves live in tests/helpers.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TINY_MODEL, run_cli, write_project


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


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory) -> Path:
    """One real run shared by the deployment tests: a tiny MLP in four formats, packed."""
    folder = tmp_path_factory.mktemp("tiny_package")
    recipe = write_project(folder, targets=["torchscript-trace", "torch-export", "onnx", "openvino"])
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    return folder / "tiny.nav"
