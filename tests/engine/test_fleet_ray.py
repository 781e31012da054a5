"""`navctl optimize --executor ray` on a Ray cluster navctl starts on 127.0.0.1: each recipe a Ray task,
its folder shipped through the object store, its package sent back and unpacked into the local workspace."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from navctl.engine.fleet import FleetEntry
from navctl.engine.ray_fleet import check_upload, unschedulable
from navctl.errors import UsageError
from navctl.plan.expand import expand
from navctl.recipe.load import load_recipe
from tests.helpers import (
    check_three_recipes,
    free_ports,
    load_status,
    processes_running,
    run_cli,
    three_recipes,
    write_project,
)

pytest.importorskip("ray")


def test_a_recipe_folder_over_the_upload_limit_is_named_with_its_size(tmp_path: Path) -> None:
    recipe = write_project(tmp_path / "big", name="big")
    (tmp_path / "big" / "data.bin").write_bytes(b"\0" * (3 << 20))
    (tmp_path / "big" / "ws").mkdir()
    (tmp_path / "big" / "ws" / "left-behind.bin").write_bytes(b"\0" * (8 << 20))  # the workspace stays behind
    loaded = load_recipe(recipe)
    entry = FleetEntry(loaded, expand(loaded.recipe), None)
    check_upload(entry, limit=4 << 20)
    with pytest.raises(UsageError, match=r"big holds 3 MiB; navctl ships at most 2 MiB"):
        check_upload(entry, limit=2 << 20)


def test_a_recipe_no_node_can_run_is_unschedulable_at_once() -> None:
    nodes = [
        {"Alive": True, "Resources": {"CPU": 2.0}},
        {"Alive": False, "Resources": {"CPU": 8.0, "GPU": 1.0}},  # dead nodes run nothing
    ]
    assert unschedulable({"CPU": 2.0}, nodes) == ""
    why = unschedulable({"CPU": 1.0, "GPU": 1.0}, nodes)
    assert why.startswith("unschedulable: it needs CPU 1, GPU 1 on one node")
    assert "the largest of 1 node(s) offer CPU 2, GPU 0" in why


@pytest.fixture
def ray_head(tmp_path_factory):
    """`ray start --head` on 127.0.0.1 with 2 CPUs in its own temp folder; stopped (its processes only) after."""
    temp = tmp_path_factory.mktemp("ray")
    port = free_ports(1)[0]
    started = subprocess.run(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--port", str(port), "--num-cpus", "2",
         "--num-gpus", "0",
         "--include-dashboard=false", "--node-ip-address", "127.0.0.1", "--temp-dir", str(temp),
         "--disable-usage-stats"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RAY_ADDRESS": "", "RAY_AUTH_MODE": "disabled"},
    )  # fmt: skip
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield f"127.0.0.1:{port}"
    finally:
        for pid in processes_running(str(temp)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_three_recipes_and_a_gpu_one_on_an_existing_cluster(tmp_path: Path, ray_head: str) -> None:
    recipes = [str(p) for p in three_recipes(tmp_path)]
    gpu = write_project(tmp_path / "gpu", name="gpu", device="cuda")
    result = run_cli(
        "optimize", *recipes, str(gpu), "--executor", "ray", "--ray-address", ray_head,
        "--workspace", str(tmp_path / "fleet"), "--json",
        env={"RAY_ADDRESS": "", "RAY_AUTH_MODE": "disabled"}, timeout=600,
    )  # fmt: skip
    # the GPU recipe is unschedulable (exit 4), which outranks the crash (exit 1)
    assert result.returncode == 4 and result.stdout, result.stderr[-4000:]
    runs = {run["recipe"]: run for run in json.loads(result.stdout)["runs"]}
    assert runs["gpu"]["state"] == "unschedulable" and "GPU 1" in runs["gpu"]["error"]
    result.returncode = 1  # the rest is what the local executor leaves
    document = json.loads(result.stdout)
    document["runs"] = [run for run in document["runs"] if run["recipe"] != "gpu"]
    document["exit_code"] = 1
    result.stdout = json.dumps(document)
    check_three_recipes(result, tmp_path / "fleet")
    status = load_status(tmp_path / "fleet" / "good")
    assert status["recipe"]["path"].endswith("good/recipe.yaml")  # the local recipe, not the worker's copy
    assert run_cli("status", str(tmp_path / "fleet" / "good")).returncode == 0
    assert "submitted to Ray" in result.stderr
    # no step process is left in a worker's scratch folder once the fleet returned
    scratch = f"{tempfile.gettempdir()}/navctl-ray-"
    left = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and os.readlink(entry / "cwd").startswith(scratch):
                left.append(int(entry.name))
    assert not left


def test_a_package_from_a_gpu_worker_is_received_on_a_cpu_driver(tmp_path: Path, tiny_package: Path) -> None:
    from navctl.engine.fleet import load_all
    from navctl.engine.ray_fleet import _receive

    recipe = write_project(tmp_path / "gpu", name="gpu", device="cuda")
    (entry,) = load_all([recipe], tmp_path / "fleet")
    assert entry.plan is None and "CUDA" in entry.plan_error.message  # this machine cannot plan it
    _receive(entry, {"exit_code": 0, "package": tiny_package.read_bytes(), "notes": [], "error": ""})
    assert entry.outcome is not None and entry.outcome.package == tmp_path / "fleet" / "gpu.nav"
    status = load_status(tmp_path / "fleet" / "gpu")
    assert status["recipe"]["path"].endswith("gpu/recipe.yaml")
