"""The session's count of other processes' CPU time: a real hog outside the process tree is counted as
other load, the session's own children are not. Each spinner stops after a given CPU time (not wall
time), so the figures hold on a machine the other test workers keep busy."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from navctl.profiling.machine_load import BUSY_LIMIT, LoadMeter, MachineLoad, load_verdict

SPIN = "import time\nwhile time.process_time() < {cpu_s}:\n    pass\n"


def _wait_gone(pid: int, timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        assert time.monotonic() < end, "the spinner did not finish"
        time.sleep(0.02)


def _cpu_s(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def test_a_hog_outside_the_process_tree_is_other_load() -> None:
    meter = LoadMeter()
    # the shell exits at once: the spinner is reparented away from this process tree, as another user's job is
    launched = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -c "$0" >/dev/null 2>&1 & echo $!', SPIN.format(cpu_s=0.6)],
        capture_output=True,
        text=True,
        check=True,
    )
    hog = int(launched.stdout.strip())
    assert hog not in [p.pid for p in psutil.Process().children(recursive=True)]
    _wait_gone(hog)
    load = meter.stop()
    assert load is not None
    assert load.other_cores * load.seconds >= 0.5  # the hog's 0.6 s of CPU, less the clock ticks' rounding


def test_the_sessions_own_children_and_grandchildren_are_not_other_load() -> None:
    began = time.process_time()
    meter = LoadMeter()
    child = subprocess.Popen([sys.executable, "-c", SPIN.format(cpu_s=0.5)])
    child.wait()  # reaped: its time moves into this process's children figure
    # a grandchild reaped by a child that lives on (a runner's compiler, say): in the child's figure
    shell = subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "$0"; sleep 30', SPIN.format(cpu_s=0.4)])
    try:
        end = time.monotonic() + 30
        while _cpu_s(shell.pid) < 0.35:  # /proc counts in clock ticks: a little under the 0.4 s spun
            assert time.monotonic() < end, "the grandchild did not finish"
            time.sleep(0.02)
        load = meter.stop()
    finally:
        shell.kill()
        shell.wait()
    assert load is not None
    own_s = load.own_cores * load.seconds
    mine = time.process_time() - began  # this process's own polling
    assert 0.8 <= own_s <= 0.9 + mine + 0.25, (own_s, mine)  # 0.5 + 0.4 s, with start-up and clock ticks
    assert load.cores == len(os.sched_getaffinity(0))


def test_the_verdict_names_the_load_only_past_the_limit() -> None:
    quiet = MachineLoad(cores=2, other_cores=0.04, own_cores=2.0, seconds=3.0)
    busy = MachineLoad(cores=2, other_cores=1.38, own_cores=0.6, seconds=3.0)
    edge = MachineLoad(cores=4, other_cores=4 * BUSY_LIMIT, own_cores=1.0, seconds=3.0)
    assert load_verdict(quiet) == "" and load_verdict(edge) == "" and load_verdict(None) == ""
    assert load_verdict(busy) == (
        "other processes kept 1.4 of 2 cores busy while profiling, 69% of them (the limit is 25%)"
    )


def test_measurements_outside_the_session_leave_the_busiest_load_and_its_verdict_in_status() -> None:
    from navctl.plan.kind_appliers import fold_loads, note_load
    from navctl.records.results import ProfilingInfo
    from navctl.status import Status

    status = Status.model_construct(profiling=ProfilingInfo())
    note_load(status, 2, 0.1)
    assert (status.profiling.other_cores, status.profiling.unreliable) == (0.1, "")
    note_load(status, 2, 1.2)
    note_load(status, 2, 0.9)  # busy too: the busiest is named
    assert status.profiling.other_cores == 1.2
    assert status.profiling.unreliable == (
        "other processes kept 1.2 of 2 cores busy while profiling, 60% of them (the limit is 25%)"
    )
    # the session's figures replace status.profiling after a tuned runner or the generation rounds noted
    # theirs: folded in again, beside the session's own reasons
    status.profiling = ProfilingInfo(unreliable="3 of 6 measurements were unstable", other_cores=0.2, cores=2)
    fold_loads(status)
    assert status.profiling.other_cores == 1.2
    assert status.profiling.unreliable == (
        "3 of 6 measurements were unstable; "
        "other processes kept 1.2 of 2 cores busy while profiling, 60% of them (the limit is 25%)"
    )
    # a busier session keeps its own figure
    status.profiling = ProfilingInfo(other_cores=1.5, cores=2, unreliable="")
    fold_loads(status)
    assert (status.profiling.other_cores, status.profiling.unreliable) == (1.5, "")


def test_a_new_run_starts_from_the_sessions_own_figures_not_the_loads_folded_in_before(tmp_path) -> None:
    from navctl.engine.sessions import carried_figures
    from navctl.engine.workspace import Workspace
    from navctl.records.results import ProfilingInfo

    ws = Workspace(tmp_path)
    busy_alone = ProfilingInfo(cores=2, other_cores=1.4, unreliable="other processes kept 1.4 of 2 cores busy")
    assert carried_figures(ws, busy_alone) == ProfilingInfo()  # each tuned runner notes its load again
    session = ProfilingInfo(interleaved=True, runners=["a", "b"], other_cores=0.1, cores=2)
    assert carried_figures(ws, session) == session  # no session result on disk: what status.yaml said
