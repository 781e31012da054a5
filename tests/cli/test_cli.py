from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from navctl import __version__
from tests.helpers import REPO, run_cli, write_project


def test_version_and_help() -> None:
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"navctl {__version__}"
    result = run_cli("--help")
    for command in ("validate", "plan", "optimize", "status", "inspect", "schema"):
        assert command in result.stdout


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


def test_bad_option_is_usage_error() -> None:
    result = run_cli("plan", "x.yaml", "--format", "svg")
    assert result.returncode == 2
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
