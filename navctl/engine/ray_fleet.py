"""`navctl optimize --executor ray`: each recipe one Ray task, on a cluster the team already has.

The recipe and its user files (navctl.engine.ray_shipment) reach the worker through Ray's object store,
zipped, so no shared filesystem is needed: Ray's `runtime_env` `working_dir` takes a local folder only
for a whole job (`ray.init`), not per task, and each recipe here has its own files. The worker runs the
same engine (steps are subprocesses on that node) in a fresh Ray worker process per recipe
(`max_calls=1`: memory a converter leaks goes with it), and sends back the package bytes; the driver
writes the `.nav` where a local run would and unpacks it into the local workspace, so `navctl status`,
`report`, `diff` and `triton` work unchanged. Workers need navctl and the recipe's frameworks installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from navctl import stopping
from navctl.engine.api import RunOutcome, package_path, workspace_path
from navctl.engine.executor import RunOptions
from navctl.engine.fleet import FleetEntry, FleetEvents, worst_exit
from navctl.engine.ray_shipment import Shipment
from navctl.errors import EXIT_ENVIRONMENT, EXIT_INTERNAL, EXIT_INTERRUPTED, EnvironmentProblem
from navctl.plan.environment import module_available


@dataclass
class RayOptions:
    address: str = "auto"  # auto | host:port | ray://host:10001
    resources: dict[str, float] | None = None
    max_retries: int = 1  # a task whose node dies starts again elsewhere this many times


def _connect(address: str) -> bool:
    """Join the cluster at `address`; with `auto` and none running, start one on this machine (127.0.0.1).
    Returns whether navctl connected (and so must disconnect: `ray.shutdown` also stops a cluster it started)."""
    import ray

    if ray.is_initialized():  # a program calling navctl's API may hold its own connection
        return False
    if address == "auto" and not os.environ.get("RAY_ADDRESS"):
        try:
            ray.init(address="auto", log_to_driver=False)
        except ConnectionError:
            ray.init(
                _node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False, configure_logging=False
            )
        return True
    ray.init(address=None if address == "auto" else address, log_to_driver=False)
    return True


# Each start of a recipe's task leaves a key in the GCS's key-value store (on the head, which outlives any
# worker node): more than one key means Ray retried it after a node died. An actor counting starts would
# die with whichever node Ray placed it on, taking the count (and the driver's call to it) along.
_ATTEMPTS_NAMESPACE = "navctl"


def _note_attempt(prefix: str) -> None:
    from ray.experimental import internal_kv

    with contextlib.suppress(Exception):  # a lost count must not cost the recipe its run
        internal_kv._internal_kv_put(f"{prefix}{uuid.uuid4().hex}", b"", namespace=_ATTEMPTS_NAMESPACE)


def _attempts(prefix: str) -> int:
    from ray.experimental import internal_kv

    try:
        return max(1, len(internal_kv._internal_kv_list(prefix, namespace=_ATTEMPTS_NAMESPACE)))
    except Exception:  # noqa: BLE001 - unknown: report the one run we saw
        return 1


def _forget_attempts(prefix: str) -> None:
    from ray.experimental import internal_kv

    with contextlib.suppress(Exception):  # a few stale keys in the GCS harm nothing
        internal_kv._internal_kv_del(prefix, del_by_prefix=True, namespace=_ATTEMPTS_NAMESPACE)


def _cpus(entry: FleetEntry, nodes: list[dict[str, Any]]) -> float:
    """The recipe's `threads`; without it a local run uses every core, so the task takes a whole node
    (the largest's CPUs): two recipes profiling side by side on one node would skew each other's numbers."""
    if entry.loaded.recipe.threads:
        return float(entry.loaded.recipe.threads)
    return max((n.get("Resources", {}).get("CPU", 1.0) for n in nodes if n.get("Alive")), default=1.0)


def _requested(entry: FleetEntry, extra: dict[str, float] | None, cpus: float) -> dict[str, float]:
    recipe = entry.loaded.recipe
    wanted = {"CPU": cpus, **(extra or {})}
    if recipe.device == "cuda":
        wanted["GPU"] = 1.0
    return wanted


def unschedulable(wanted: dict[str, float], nodes: list[dict[str, Any]]) -> str:
    """Why no alive node can ever run a task wanting these resources ('' when one can). Ray would leave
    such a task pending forever; navctl says so at once."""
    alive = [n for n in nodes if n.get("Alive")]
    if any(all(n.get("Resources", {}).get(k, 0.0) >= v for k, v in wanted.items()) for n in alive):
        return ""
    asked = ", ".join(f"{k} {v:g}" for k, v in sorted(wanted.items()))
    largest = {k: max((n.get("Resources", {}).get(k, 0.0) for n in alive), default=0.0) for k in wanted}
    has = ", ".join(f"{k} {v:g}" for k, v in sorted(largest.items()))
    return f"it needs {asked} on one node; the largest of {len(alive)} node(s) offer {has}"


def _run_on_worker(
    shipped: bytes, recipe: str, name: str, options: RunOptions, package_formats: str | None, attempts: str
) -> dict[str, Any]:
    """In the Ray worker: unpack the recipe and its files (navctl's safe extraction), run it, pack the result."""
    _note_attempt(attempts)
    from navctl.engine.api import run_recipe
    from navctl.engine.executor import Events
    from navctl.engine.fleet import StepsSeen, not_run_reason
    from navctl.errors import NavctlError
    from navctl.package import extract_package
    from navctl.recipe.load import load_recipe

    scratch = Path(tempfile.mkdtemp(prefix="navctl-ray-"))
    steps = StepsSeen(Events())
    try:
        (scratch / "shipped.zip").write_bytes(shipped)
        extract_package(scratch / "shipped.zip", scratch / "files")
        loaded = load_recipe(scratch / "files" / recipe)
        outcome = run_recipe(
            loaded,
            workspace=scratch / name,
            package=scratch / "package.nav",
            options=options,
            events=steps,
            pack=True,
            package_formats=package_formats,
        )
        package = outcome.package.read_bytes() if outcome.package else None
        return {"exit_code": outcome.exit_code, "package": package, "notes": outcome.notes, "error": "", "reason": ""}
    except NavctlError as exc:
        reason = "" if steps.seen else not_run_reason(exc)
        return {"exit_code": exc.exit_code, "package": None, "notes": [], "error": exc.message, "reason": reason}
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


def _receive(entry: FleetEntry, answer: dict[str, Any], user_files: list[dict[str, str]]) -> None:
    """Write the package where a local run would, and unpack it into the local workspace."""
    from navctl.engine.targets import replacement_note
    from navctl.package import extract_package, set_origin
    from navctl.status import UserFileRecord, read_status, write_status

    entry.exit_code = answer["exit_code"]
    entry.error = answer["error"]
    if answer.get("reason"):
        entry.not_run(answer["reason"], entry.exit_code, entry.error)
    if answer["package"] is None:
        return
    target = package_path(entry.loaded, None, entry.workspace)
    workspace = workspace_path(entry.loaded, entry.workspace)
    replacing = replacement_note(target, workspace)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    Path(tmp).write_bytes(answer["package"])
    set_origin(Path(tmp), workspace)  # the worker's scratch workspace means nothing here
    os.replace(tmp, target)
    extract_package(target, workspace)
    status = read_status(workspace)
    # the worker's scratch paths mean nothing here: point the record at the local recipe and files
    status.recipe.path = os.path.relpath(entry.loaded.path, workspace)
    status.user_files = [UserFileRecord(**record) for record in user_files]
    write_status(workspace, status)
    entry.outcome = RunOutcome(
        status=status,
        plan=entry.plan,  # None when this machine cannot plan it (a GPU recipe on a CPU driver)
        workspace=workspace,
        package=target,
        exit_code=answer["exit_code"],
        notes=[*answer["notes"], *([replacing] if replacing else [])],
    )


def run_fleet_on_ray(
    entries: list[FleetEntry],
    options: RunOptions,
    ray_options: RayOptions,
    events: FleetEvents | None = None,
    package_formats: str | None = None,
) -> int:
    if not module_available("ray"):
        raise EnvironmentProblem("--executor ray needs Ray", hint="pip install 'navctl[ray]'")
    shipments = {id(entry): Shipment.of(entry.loaded) for entry in entries}
    for entry in entries:
        shipments[id(entry)].check_size(entry.loaded.path)
    import ray

    events = events or FleetEvents()
    # Ray's driver prints cluster news ("(raylet) Task ... will be retried") on stdout from a thread of its
    # own, for as long as it is connected: stdout holds `--json`'s document, so Ray's lines go to stderr.
    with contextlib.redirect_stdout(sys.stderr), stopping.stoppable():
        connected_here = _connect(ray_options.address)
        try:
            _run_all(entries, shipments, (options, package_formats), ray_options, events)
        finally:
            if connected_here:
                ray.shutdown()
    return worst_exit([e.exit_code for e in entries if e.exit_code is not None])


def _run_all(
    entries: list[FleetEntry],
    shipments: dict[int, Shipment],
    run: tuple[RunOptions, str | None],  # the run's options and package_formats, the same for every recipe
    ray_options: RayOptions,
    events: FleetEvents,
) -> None:
    import ray

    remote = ray.remote(max_calls=1, max_retries=ray_options.max_retries)(_run_on_worker)
    fleet_id = uuid.uuid4().hex
    pending: dict[Any, FleetEntry] = {}
    began: dict[int, float] = {}
    try:
        nodes = ray.nodes()
        for entry in entries:
            recipe = entry.loaded.recipe
            cpus = _cpus(entry, nodes)
            why = unschedulable(_requested(entry, ray_options.resources, cpus), nodes)
            if why:
                entry.not_run("unschedulable", EXIT_ENVIRONMENT, why)
                events.recipe_finished(entry)
                continue
            task = remote.options(
                num_cpus=cpus,
                num_gpus=1 if recipe.device == "cuda" else 0,
                resources=ray_options.resources or None,
            )
            shipment = shipments[id(entry)]
            ref = task.remote(
                ray.put(shipment.zip()),
                shipment.recipe,
                entry.name,
                *run,
                f"{fleet_id}/{entry.name}/",
            )
            pending[ref] = entry
            entry.state = "running"
            began[id(entry)] = time.monotonic()
            events.recipe_submitted(entry)
        while pending:
            # a bounded wait, so a Ctrl-C that Ray's blocking call absorbed still stops the fleet here
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            if stopping.requested():
                raise KeyboardInterrupt
            if not done:
                continue
            entry = pending.pop(done[0])
            entry.state = "done"
            try:
                _receive(entry, ray.get(done[0]), shipments[id(entry)].user_files)
            except ray.exceptions.RayError as exc:
                entry.exit_code = EXIT_INTERNAL
                entry.error = f"the Ray task failed: {str(exc).splitlines()[0]}"
            entry.wall_s = round(time.monotonic() - began[id(entry)], 2)
            entry.attempts = _attempts(f"{fleet_id}/{entry.name}/")
            events.recipe_finished(entry)
    except KeyboardInterrupt:
        for ref, entry in pending.items():
            ray.cancel(ref, force=True)
            entry.exit_code, entry.state, entry.error = EXIT_INTERRUPTED, "done", "interrupted"
            events.recipe_finished(entry)
    finally:
        _forget_attempts(f"{fleet_id}/")
