"""Serving a TorchScript model that calls an operator a library registers when imported (as torchvision
registers torchvision::nms): the package records the libraries the user's files import, and the serving
paths import them before they load the artifact, in a process that never imported the model's file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import navctl
from tests.helpers import free_ports, run_cli, start_server, stop_server, write_project

pytest.importorskip("torch")

OPS = "navctl_probe_user_ops"
# An installed library (a folder on PYTHONPATH, not beside the recipe): registering its operator is all
# importing it does.
OPS_MODULE = f"""
import torch


@torch.library.custom_op("{OPS}::twice", mutates_args=())
def twice(x: torch.Tensor) -> torch.Tensor:
    return x * 2


@twice.register_fake
def _(x):
    return torch.empty_like(x)
"""
MODEL = f"""
import torch
import {OPS}  # noqa: F401 - registers torch.ops.{OPS}.twice


class Twice(torch.nn.Module):
    def forward(self, x):
        return torch.ops.{OPS}.twice(torch.relu(x))


def build():
    return Twice()


def samples(count=3, batch=2):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, 8, generator=g) for _ in range(count)]
"""
TRACE, EXPORT = "torchscript-trace@torchscript-cpu", "torch-export@torch-export-cpu"
# In a fresh interpreter: neither artifact loads alone (the operator is unknown there), the package's
# runners do, and answer what the model computes.
PROBE = f"""
import json, sys
import numpy as np
import torch
import navctl

found = {{}}
with navctl.load(sys.argv[1]) as package:
    bare = {{}}
    for fmt, load in (("torchscript-trace", torch.jit.load), ("torch-export", torch.export.load)):
        try:
            load(str(package.artifact(fmt)))
            bare[fmt] = "loaded"
        except Exception as exc:
            bare[fmt] = str(exc)
    found["bare"] = bare
    found["imported_before"] = "{OPS}" in sys.modules
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    found["x"] = x.tolist()
    for key in ("{TRACE}", "{EXPORT}"):
        with package.runner(key) as runner:
            out = runner.infer({{package.io.input_names[0]: x}})
        found[key] = {{"libraries": package.libraries(key), "out": np.asarray(next(iter(out.values()))).tolist()}}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def ops_package(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("user_ops")
    site = root / "site"
    site.mkdir()
    (site / f"{OPS}.py").write_text(textwrap.dedent(OPS_MODULE))
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)}
    recipe = write_project(root / "project", MODEL, name="twice", targets=["torchscript-trace", "torch-export"])
    result = run_cli("optimize", str(recipe), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return root / "project" / "twice.nav", env


def _expected(x: list) -> np.ndarray:
    return 2 * np.maximum(np.asarray(x, dtype=np.float32), 0)


def test_package_runners_import_the_libraries_their_artifacts_need(ops_package) -> None:
    package, env = ops_package
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(package)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert f"{OPS}::twice" in found["bare"]["torchscript-trace"], found["bare"]  # Unknown builtin op
    assert found["bare"]["torch-export"] != "loaded", found["bare"]
    assert found["imported_before"] is False
    for key in (TRACE, EXPORT):
        assert found[key]["libraries"] == [OPS]
        assert np.allclose(found[key]["out"], _expected(found["x"]), atol=1e-6), key


@pytest.mark.slow
def test_triton_python_backend_imports_the_libraries(ops_package, tmp_path: Path) -> None:
    """model.py, which `navctl triton` writes for Triton's Python backend, in the server PyTriton ships."""
    pytest.importorskip("pytriton")
    package, env = ops_package
    repo = tmp_path / "repo"
    result = run_cli("triton", str(package), "--repo", str(repo), "--format", EXPORT)
    assert result.returncode == 0, result.stderr
    version = repo / "twice" / "1"
    assert json.loads((version / "runner.json").read_text())["libraries"] == [OPS]
    # The Python backend's stub sets its own sys.path (PYTHONPATH is not read there), the model's folder
    # on it: the library is installed for that environment by putting it there.
    shutil.copy(package.parent.parent / "site" / f"{OPS}.py", version / f"{OPS}.py")
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    with navctl.load(package) as pkg:
        name = pkg.io.input_names[0]
    np.savez(tmp_path / "in.npz", **{name: x})
    loader = Path(__file__).with_name("infer_in_triton.py")
    ports = [str(port) for port in free_ports(3)]
    run = subprocess.run(
        [sys.executable, str(loader), str(repo), "twice", str(tmp_path / "in.npz"), str(tmp_path / "out.npz"), *ports],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    log = (repo / "triton.log").read_text()[-3000:] if (repo / "triton.log").exists() else ""
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log
    answer = next(iter(np.load(tmp_path / "out.npz").values()))
    assert np.allclose(answer, _expected(x.tolist()), atol=1e-6)


@pytest.mark.slow
def test_serve_imports_the_libraries(ops_package) -> None:
    """`navctl serve` in a process that never imported the model's file answers through the library's op."""
    http = pytest.importorskip("tritonclient.http")
    pytest.importorskip("pytriton")
    package, env = ops_package
    server, http_port = start_server(package, "--format", TRACE, env=env)
    try:
        line = server.stdout.readline()
        while line and "serving twice" not in line:
            line = server.stdout.readline()
        assert "serving twice" in line, "navctl serve ended without serving"
        with navctl.load(package) as pkg:
            name = pkg.io.input_names[0]
            output = pkg.io.output_names[0]
        x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
        request = http.InferInput(name, list(x.shape), "FP32")
        request.set_data_from_numpy(x)
        client = http.InferenceServerClient(f"127.0.0.1:{http_port}")
        answer = client.infer("twice", [request]).as_numpy(output)
        client.close()
        assert np.allclose(answer, _expected(x.tolist()), atol=1e-6)
    finally:
        stop_server(server)
