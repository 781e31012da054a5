"""Defects a new user met in the first hour: lost selections, lost packages, misleading exits, broken
pipes, unreadable files. Each test failed before its fix."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from navctl.cli.commands.optimize import resume_command
from navctl.cli.output import PipeSafeStream
from navctl.status import write_atomic
from tests.helpers import hand_status, load_status, run_cli, status_package, write_project

BLOCKER = """
import os
import sys

BLOCKED = set(os.environ.get("NAVCTL_TEST_BLOCK", "").split(","))


class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named '{name}'")
        return None


sys.meta_path.insert(0, _Blocked())
"""


def _without(tmp_path: Path, *modules: str) -> dict[str, str]:
    """Environment for a subprocess in which `modules` cannot be imported (a light install)."""
    folder = tmp_path / "blocker"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return {"PYTHONPATH": str(folder), "NAVCTL_TEST_BLOCK": ",".join(modules)}


# ----- fast: no step runs ---------------------------------------------------------------------------
def test_atomic_writes_respect_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "status.yaml", "a: 1\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "status.yaml").stat().st_mode) == 0o644


def test_resume_command_keeps_the_options_but_force() -> None:
    argv = ["navctl", "optimize", "r.yaml", "--only", "export/*", "--no-package", "--force", "-w", "my ws"]
    assert resume_command(argv) == "navctl optimize r.yaml --only 'export/*' --no-package -w 'my ws'"


def test_a_closed_reader_silences_output_instead_of_raising() -> None:
    read, write = os.pipe()
    os.close(read)
    stream = PipeSafeStream(os.fdopen(write, "w"))
    stream.write("x" * 100_000)
    stream.flush()
    stream.write("more")
    assert stream.broken


def test_package_in_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    recipe = write_project(tmp_path)
    result = run_cli("optimize", str(recipe), "--package", str(tmp_path / "nowhere" / "x.nav"))
    assert result.returncode == 2, result.stderr
    assert "does not exist" in result.stderr
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "ws").exists()


def test_workspace_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    recipe = write_project(tmp_path)
    (tmp_path / "afile").write_text("x")
    result = run_cli("optimize", str(recipe), "--workspace", str(tmp_path / "afile"))
    assert result.returncode == 2, result.stderr
    assert "is not a folder" in result.stderr


def test_without_the_framework_optimize_exits_4_naming_the_extra(tmp_path: Path) -> None:
    recipe = write_project(tmp_path / "proj")
    earlier = status_package(recipe.parent / "tiny.nav", hand_status({}, name="tiny")).read_bytes()
    result = run_cli("optimize", str(recipe), env=_without(tmp_path, "torch"))
    assert result.returncode == 4, result.stderr
    assert "pip install 'navctl[torch]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert (recipe.parent / "tiny.nav").read_bytes() == earlier  # nothing replaced


# ----- end to end -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_unknown_output_in_the_recipe_is_an_error_with_its_line(project) -> None:
    recipe = project(correctness={"atol": 1e-4, "outputs": {"logits": {"atol": 1e-3}}})
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 2, result.stderr
    line = next(i for i, text in enumerate(recipe.read_text().splitlines(), 1) if "logits" in text)
    assert f"{recipe}:{line}:" in result.stderr
    assert "correctness.outputs.logits: the model has no output named 'logits'; its outputs: output_0" in result.stderr
    status = load_status(recipe.parent / "ws")
    assert status["steps"]["samples"]["state"] == "ok"
    assert status["run"]["exit_code"] == 2
    assert not (recipe.parent / "tiny.nav").exists()


@pytest.mark.slow
def test_python_api_from_stdin_and_unguarded_script_keeps_a_good_package(project) -> None:
    recipe = project()
    folder = recipe.parent
    call = f"navctl.optimize({str(recipe)!r}, workspace={str(folder / 'ws')!r})"
    code = f"import navctl\no = {call}\nprint('EXIT', o.exit_code)\n"
    stdin = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True, timeout=300, cwd=folder)
    assert "EXIT 0" in stdin.stdout, stdin.stdout + stdin.stderr
    package = folder / "tiny.nav"
    assert package.stat().st_size > 10_000
    script = folder / "unguarded.py"
    script.write_text(code)
    unguarded = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=folder)
    assert unguarded.stdout.count("EXIT 0") == 1, unguarded.stdout + unguarded.stderr  # not re-run by the worker
    # A run in which nothing succeeds keeps the earlier package.
    good = package.read_bytes()
    (folder / "model.py").write_text(
        (folder / "model.py").read_text()
        + textwrap.dedent(
            """
            def build():
                raise RuntimeError("weights missing")
            """
        )
    )
    failed = run_cli("optimize", str(recipe), "--force")
    assert failed.returncode == 1
    assert "no package written" in failed.stderr
    assert package.read_bytes() == good


@pytest.mark.slow
def test_closed_output_pipe_does_not_change_the_run(project) -> None:
    recipe = project(targets=["torchscript-trace", "onnx"])
    process = subprocess.Popen(
        [sys.executable, "-m", "navctl", "optimize", str(recipe)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    assert process.wait(timeout=300) == 0
    status = load_status(recipe.parent / "ws")
    assert status["run"]["state"] == "finished"
    states = {v["state"] for v in status["steps"].values()}
    assert states <= {"ok", "unavailable"}, states
    assert (recipe.parent / "tiny.nav").exists()
    assert stat.S_IMODE((recipe.parent / "tiny.nav").stat().st_mode) & 0o044  # readable by others (umask 022)
    assert yaml.safe_load((recipe.parent / "ws" / "status.yaml").read_text())["selection"]


@pytest.mark.slow
def test_deployment_commands_name_the_extra_they_need(tiny_package: Path, tmp_path: Path) -> None:
    triton = run_cli(
        "triton", str(tiny_package), "--repo", str(tmp_path / "repo"), env=_without(tmp_path, "tritonclient")
    )
    assert triton.returncode == 4, triton.stderr
    assert "pip install 'navctl[triton]'" in triton.stderr and "Traceback" not in triton.stderr
    code = (
        "import navctl\n"
        f"with navctl.load({str(tiny_package)!r}) as p:\n"
        "    try:\n"
        "        p.runner('onnx@onnxruntime-cpu')\n"
        "    except navctl.errors.EnvironmentProblem as exc:\n"
        "        print('MESSAGE', exc.message)\n"
    )
    env = {**os.environ, **_without(tmp_path, "onnxruntime")}
    api = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "MESSAGE running onnx@onnxruntime-cpu needs onnxruntime (pip install 'navctl[onnx]')" in api.stdout, (
        api.stdout + api.stderr
    )
