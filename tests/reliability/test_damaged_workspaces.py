"""Damaged workspaces are detected and reported, and the affected steps rerun."""

from __future__ import annotations

import shutil

import pytest

from tests.helpers import load_status, run_cli, write_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def _built(tmp_path_factory):
    """One finished run per test worker, kept pristine beside its workspace. The damage tests restore it
    in place: the cache keys on the recipe's folder, so a copy elsewhere would rerun every step anyway."""
    recipe = write_project(tmp_path_factory.mktemp("damaged"), targets=["torchscript-trace", "torchscript-script"])
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    ws = recipe.parent / "ws"
    shutil.copytree(ws, recipe.parent / "pristine", symlinks=True)
    return recipe, ws


@pytest.fixture
def finished(_built):
    recipe, ws = _built
    shutil.rmtree(ws)
    shutil.copytree(recipe.parent / "pristine", ws, symlinks=True)
    return recipe, ws


def _states(ws) -> dict[str, str]:
    return {k: v["state"] for k, v in load_status(ws)["steps"].items() if v["state"] != "unavailable"}


@pytest.mark.parametrize("damage", ["truncated", "not a mapping", "binary garbage", "wrong schema version"])
def test_broken_status_reruns_everything(damage: str, finished) -> None:
    recipe, ws = finished
    status = ws / "status.yaml"
    text = status.read_text()
    status.write_bytes(
        {
            "truncated": text[: len(text) // 2].encode() + b"\n  - [",
            "not a mapping": b"- just\n- a list\n",
            "binary garbage": bytes(range(256)),
            "wrong schema version": text.replace("schema_version: 1", "schema_version: 7").encode(),
        }[damage]
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    assert "every step reruns" in result.stderr
    assert set(_states(ws).values()) == {"ok"}


@pytest.mark.parametrize("damage", ["missing", "changed"])
def test_damaged_artifact_reruns_its_step(damage: str, finished) -> None:
    recipe, ws = finished
    artifact = ws / "torchscript-trace" / "model.pt"
    if damage == "missing":
        artifact.unlink()
    else:
        artifact.write_bytes(artifact.read_bytes() + b"tampered")
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    assert "export/torchscript-trace: artifact torchscript-trace/model.pt is missing or changed; rerunning" in (
        result.stderr
    )
    states = _states(ws)
    assert states["export/torchscript-trace"] == "ok"
    assert states["export/torchscript-script"] == "cached" and states["samples"] == "cached"
    assert artifact.exists() and not artifact.read_bytes().endswith(b"tampered")


def test_missing_step_result_reruns_that_step(finished) -> None:
    recipe, ws = finished
    (ws / "steps" / "correctness" / "torchscript-script@torchscript-cpu" / "result.json").unlink()
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    states = _states(ws)
    assert states["correctness/torchscript-script@torchscript-cpu"] == "ok"
    assert states["export/torchscript-script"] == "cached"


def test_foreign_folder_is_not_used_as_a_workspace(project) -> None:
    recipe = project()
    foreign = recipe.parent / "ws"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("years of work")
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 4 and "did not create" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["thesis.tex"]
