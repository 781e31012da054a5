"""`navctl optimize --executor ray` on a Ray cluster navctl starts on 127.0.0.1: each recipe a Ray task,
its folder shipped through the object store, its package sent back and unpacked into the local workspace."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from navctl.engine.ray_fleet import unschedulable
from navctl.engine.ray_shipment import Shipment
from navctl.errors import UsageError
from navctl.recipe.load import load_recipe
from tests.helpers import (
    TINY_MODEL,
    check_three_recipes,
    free_ports,
    load_status,
    processes_running,
    run_cli,
    three_recipes,
    write_project,
)

pytest.importorskip("ray")


def test_a_recipe_ships_its_files_under_their_common_folder_and_no_more_than_the_limit(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "weights.bin").write_bytes(b"\0" * (3 << 20))
    recipe = write_project(tmp_path / "big", name="big", runtime_files=["../data/*.bin"])
    (tmp_path / "big" / "unlisted.bin").write_bytes(b"\0" * (8 << 20))  # neither imported nor listed: stays
    (tmp_path / "big" / "ws").mkdir()
    (tmp_path / "big" / "ws" / "left-behind.bin").write_bytes(b"\0" * (8 << 20))  # the workspace stays behind
    shipment = Shipment.of(load_recipe(recipe))
    assert shipment.root == tmp_path and shipment.recipe == "big/recipe.yaml"
    with zipfile.ZipFile(io.BytesIO(shipment.zip())) as archive:
        assert sorted(archive.namelist()) == ["big/model.py", "big/recipe.yaml", "data/weights.bin"]
    shipment.check_size(recipe, limit=4 << 20)
    with pytest.raises(UsageError, match=r"its 3 files .* hold 3 MiB; navctl ships at most 2 MiB"):
        shipment.check_size(recipe, limit=2 << 20)


def test_a_recipe_no_node_can_run_is_unschedulable_at_once() -> None:
    nodes = [
        {"Alive": True, "Resources": {"CPU": 2.0}},
        {"Alive": False, "Resources": {"CPU": 8.0, "GPU": 1.0}},  # dead nodes run nothing
    ]
    assert unschedulable({"CPU": 2.0}, nodes) == ""
    why = unschedulable({"CPU": 1.0, "GPU": 1.0}, nodes)
    assert why.startswith("it needs CPU 1, GPU 1 on one node")
    assert "the largest of 1 node(s) offer CPU 2, GPU 0" in why


RAY_ENV = {"RAY_ADDRESS": "", "RAY_AUTH_MODE": "disabled"}
# A node whose raylet stops answering is declared dead after 3 missed 1 s health checks (Ray's default
# waits 5 x 3 s): the node-kill test then waits seconds, not tens of them, for Ray's retry.
FAST_NODE_DEATH = {"RAY_health_check_period_ms": "1000", "RAY_health_check_failure_threshold": "3"}


def _ray_start(temp: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", *args, "--num-gpus", "0",
         "--node-ip-address", "127.0.0.1", "--temp-dir", str(temp), "--disable-usage-stats"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, **RAY_ENV, **FAST_NODE_DEATH},
    )  # fmt: skip


def _started(start: subprocess.Popen) -> None:
    output, _ = start.communicate(timeout=120)
    assert start.returncode == 0, output


@contextlib.contextmanager
def ray_cluster(head_cpus: int, workers: list[str] = ()):
    """`ray start --head` on 127.0.0.1 in a temp folder of its own, plus one `ray start --address` per entry
    of `workers` (its --resources JSON); every process of it killed after (found by the temp folder)."""
    port = free_ports(1)[0]
    # Ray's sockets live under the temp folder and AF_UNIX paths stop at 107 bytes: pytest's are too long
    temp = Path(tempfile.mkdtemp(prefix="nvray-"))
    try:
        _started(
            _ray_start(temp, "--head", "--port", str(port), "--num-cpus", str(head_cpus), "--include-dashboard=false")
        )
        address = f"127.0.0.1:{port}"
        for resources in workers:  # one at a time: two nodes joining at once time out on a busy machine
            _started(_ray_start(temp, "--address", address, "--num-cpus", "2", "--resources", resources))
        yield address
    finally:
        for pid in processes_running(str(temp)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_head():
    """A one-node cluster with 2 CPUs, shared by the tests that leave it as they found it."""
    with ray_cluster(head_cpus=2) as address:
        yield address


SCRATCH = f"{tempfile.gettempdir()}/navctl-ray-"


def step_processes() -> list[int]:
    """Processes working in a Ray worker's scratch folder: navctl steps (and the warm worker) on a node."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and os.readlink(entry / "cwd").startswith(SCRATCH):
                found.append(int(entry.name))
    return found


def _wait_for_steps(fleet: subprocess.Popen, seconds: float = 240) -> list[int]:
    deadline = time.monotonic() + seconds
    while not (found := step_processes()):
        assert fleet.poll() is None and time.monotonic() < deadline, "no navctl step started on a Ray node"
        time.sleep(0.1)
    return found


def _parent(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().split(")")[-1].split()[1])


def _kill_node_running(pid: int) -> int:
    """SIGKILL the raylet above `pid` and everything under that raylet, as a node's power loss would."""
    raylet = pid
    while raylet > 1 and not (Path("/proc") / str(raylet) / "cmdline").read_bytes().split(b"\0")[0].endswith(b"raylet"):
        raylet = _parent(raylet)
    assert raylet > 1, f"process {pid} does not run under a raylet"
    tree, grew = {raylet}, True
    while grew:
        grew = False
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError):
                if entry.name.isdigit() and int(entry.name) not in tree and _parent(int(entry.name)) in tree:
                    tree.add(int(entry.name))
                    grew = True
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
    return raylet


SLOW_MODEL = (
    TINY_MODEL
    + """

def build_slow():
    import time
    time.sleep(3)  # long enough for the test to catch its steps running
    return build()
"""
)


def _fleet(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "navctl", "optimize", *args, "--json"],
        env={**os.environ, **RAY_ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_a_recipe_whose_node_dies_is_retried_on_the_other_node(tmp_path: Path) -> None:
    # the head takes no recipe (it lacks the `worker` resource): killing it would end the cluster; and each
    # worker node takes one (a whole `worker`), so the node killed held exactly one (with two CPUs a node
    # could hold both, and both were retried)
    worker = '{"worker": 1}'
    slow = write_project(tmp_path / "slow", SLOW_MODEL, name="slow", model={"entrypoint": "model.py:build_slow"})
    good = write_project(tmp_path / "good", name="good")
    with ray_cluster(head_cpus=1, workers=[worker, worker]) as address:
        fleet = _fleet(
            str(slow), str(good), "--executor", "ray", "--ray-address", address,
            "--ray-resources", '{"worker": 1}', "--workspace", str(tmp_path / "fleet"),
        )  # fmt: skip
        try:
            _kill_node_running(_wait_for_steps(fleet)[0])
            output, errors = fleet.communicate(timeout=400)
        finally:
            fleet.kill()
        assert fleet.returncode == 0, errors[-4000:]
        runs = {run["recipe"]: run for run in json.loads(output)["runs"]}
        # whichever recipe ran on the killed node started twice, finished once, and says so
        assert sorted(run["attempts"] for run in runs.values()) == [1, 2]
        assert all(run["exit_code"] == 0 and Path(run["package"]).is_file() for run in runs.values())
        assert "retried" in errors  # the fleet table says so (its cell may wrap)
        for name in runs:
            assert load_status(tmp_path / "fleet" / name)["selection"]["max-throughput"] == "onnx@onnxruntime-cpu"
        assert not step_processes()


@pytest.mark.slow
def test_ctrl_c_cancels_a_ray_fleet_and_leaves_no_step_on_the_node(tmp_path: Path, ray_head: str) -> None:
    slow = write_project(tmp_path / "slow", SLOW_MODEL, name="slow", model={"entrypoint": "model.py:build_slow"})
    fleet = _fleet(str(slow), "--executor", "ray", "--ray-address", ray_head, "--workspace", str(tmp_path / "fleet"))
    try:
        _wait_for_steps(fleet)
        fleet.send_signal(signal.SIGINT)
        output, errors = fleet.communicate(timeout=120)
    finally:
        fleet.kill()
    assert fleet.returncode == 130, errors[-4000:]
    (run,) = json.loads(output)["runs"]
    assert run["exit_code"] == 130 and run["error"] == "interrupted"
    deadline = time.monotonic() + 20
    while step_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not step_processes()


@pytest.mark.slow
def test_three_recipes_and_a_gpu_one_on_an_existing_cluster(tmp_path: Path, ray_head: str) -> None:
    recipes = [str(p) for p in three_recipes(tmp_path)]
    gpu = write_project(tmp_path / "gpu", name="gpu", device="cuda")
    result = run_cli(
        "optimize", *recipes, str(gpu), "--executor", "ray", "--ray-address", ray_head,
        "--workspace", str(tmp_path / "fleet"), "--json",
        env=RAY_ENV, timeout=600,
    )  # fmt: skip
    # the GPU recipe is unschedulable (exit 4), which outranks the crash (exit 1)
    assert result.returncode == 4 and result.stdout, result.stderr[-4000:]
    runs = {run["recipe"]: run for run in json.loads(result.stdout)["runs"]}
    gpu = runs["gpu"]
    assert (gpu["state"], gpu["reason"], gpu["package"]) == ("not run", "unschedulable", None), gpu
    assert "gpu: not run: it needs CPU 1, GPU 1" in result.stderr  # the note under the table
    result.returncode = 1  # the rest is what the local executor leaves
    document = json.loads(result.stdout)
    document["runs"] = [run for run in document["runs"] if run["recipe"] != "gpu"]
    document["exit_code"] = 1
    result.stdout = json.dumps(document)
    check_three_recipes(result, tmp_path / "fleet")
    assert run_cli("status", str(tmp_path / "fleet" / "good")).returncode == 0
    assert "submitted to Ray" in result.stderr
    assert not step_processes()  # no step is left on a node once the fleet returned


@pytest.mark.slow  # tiny_package runs navctl
def test_a_package_from_a_gpu_worker_is_received_on_a_cpu_driver(tmp_path: Path, tiny_package: Path) -> None:
    from navctl.engine.fleet import load_all
    from navctl.engine.ray_fleet import _receive

    recipe = write_project(tmp_path / "gpu", name="gpu", device="cuda")
    (entry,) = load_all([recipe], tmp_path / "fleet")
    assert entry.plan is None and "CUDA" in entry.plan_error.message  # this machine cannot plan it
    answer = {"exit_code": 0, "package": tiny_package.read_bytes(), "notes": [], "error": "", "reason": ""}
    _receive(entry, answer, Shipment.of(entry.loaded).user_files)
    assert entry.outcome is not None and entry.outcome.package == tmp_path / "fleet" / "gpu.nav"
    status = load_status(tmp_path / "fleet" / "gpu")
    assert status["recipe"]["path"].endswith("gpu/recipe.yaml")
    assert [entry["path"] for entry in status["user_files"]] == ["model.py"]  # this machine's, not the worker's
