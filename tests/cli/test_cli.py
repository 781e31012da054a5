from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from navctl import __version__
from navctl.cli.commands import COMMANDS
from navctl.cli.main import main
from tests.helpers import REPO, run_cli, write_project


def test_version_and_help(capsys) -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"navctl {__version__}"
    result = run_cli("--help")
    listed = re.findall(r"^  ([a-z]+)  ", result.stdout.split("Commands:")[1], re.M)
    names = [command.__name__ for command in COMMANDS]
    assert listed == names  # every command of the one list, in its order, and nothing else
    for command in COMMANDS:  # a new command is checked without a line here
        capsys.readouterr()
        assert main([command.__name__, "--help"]) == 0
        shown = capsys.readouterr().out
        assert f"Usage: navctl {command.__name__} " in shown
        assert " ".join(command.__doc__.split()[:4]) in " ".join(shown.split()), command.__name__


def test_light_commands_import_no_framework(tmp_path: Path) -> None:
    recipe = write_project(tmp_path)
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['navctl'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('navctl', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'jax', 'onnxruntime', 'onnx', 'openvino') if m in sys.modules]\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy) + '\\n')\n"
    )
    for args in (["--help"], ["validate", str(recipe)], ["plan", str(recipe)], ["plan", str(recipe), "-f", "json"]):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=REPO)
        assert "HEAVY=\n" in result.stderr, (args, result.stderr)


def test_plan_formats(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, targets=["torchscript", "onnx"])
    tree = run_cli("plan", str(recipe))
    assert tree.returncode == 0
    assert "export/torchscript-trace" in tree.stdout and "profile/onnx@onnxruntime-cpu" in tree.stdout
    data = json.loads(run_cli("plan", str(recipe), "--format", "json").stdout)
    assert data["steps"][0]["id"] == "samples"
    assert {s["id"] for s in data["steps"]} >= {"export/onnx", "correctness/onnx@onnxruntime-cpu", "select"}
    mermaid = run_cli("plan", str(recipe), "--format", "mermaid").stdout
    assert mermaid.startswith("flowchart LR") and "-->" in mermaid


def test_bad_option_value_is_usage_error(tmp_path: Path) -> None:
    result = run_cli("plan", str(write_project(tmp_path)), "--format", "svg")
    assert result.returncode == 2
    assert "navctl: error: --format svg: 'svg' is not one of 'tree', 'json', 'mermaid'" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_recipe_is_usage_error(tmp_path: Path) -> None:
    result = run_cli("plan", str(tmp_path / "x.yaml"))
    assert result.returncode == 2
    assert f"{tmp_path / 'x.yaml'}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_status_of_missing_workspace(tmp_path: Path) -> None:
    result = run_cli("status", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "no such workspace or package" in result.stderr


def test_device_cuda_without_cuda_exits_4(tmp_path: Path) -> None:
    recipe = write_project(tmp_path, device="cuda")
    result = run_cli("optimize", str(recipe), env={"NAVCTL_FAKE_CUDA": "0"})
    assert result.returncode == 4, result.stderr
    assert "no CUDA device is visible" in result.stderr
    assert not (tmp_path / "ws").exists()
