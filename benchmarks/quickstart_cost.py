"""Where a run's wall time goes: the steps' own work against everything around it.

Runs `navctl optimize` on a recipe (default recipes/quickstart.yaml) in a temporary workspace (fresh,
no cache), in a child interpreter that records, with the wall clock, when the step worker was started
and when each step started and ended. Prints:

- wall: from starting the interpreter to its exit (what a user waits for);
- steps busy: the time at least one step was running (the union of their intervals: the side-by-side
  profile session counts once, parallel exports once);
- outside the steps: wall - steps busy, split into the CLI before the worker starts (imports, recipe,
  plan), the worker's framework import before the first step can start (paid once instead of in
  every step: a step's own work, done on its behalf), gaps between steps (the parent's scheduling,
  status writes, waiting for the worker's annex) and the end (selection, tables, package).

With --fresh-too, the same with a fresh interpreter per step (NAVCTL_LAUNCHER=fresh), where each step
imports the framework itself.

Run: .venv/bin/python benchmarks/quickstart_cost.py [--recipe R] [--fresh-too] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_DRIVER = """
import atexit, json, sys, time
marks = {"steps": []}
import navctl.engine.executor as ex
import navctl.engine.launch as launch

running = {}
spawn = launch.WorkerLauncher.__init__
def timed_spawn(self, *args, **kwargs):
    marks.setdefault("worker", time.time())
    return spawn(self, *args, **kwargs)
launch.WorkerLauncher.__init__ = timed_spawn
mark_running = ex.Executor._mark_running
def timed_running(self, step, *args):
    running[step.id] = time.time()
    return mark_running(self, step, *args)
ex.Executor._mark_running = timed_running
finish = ex.Executor._finish
def timed_finish(self, step, record):
    if step.id in running:
        marks["steps"].append((running.pop(step.id), time.time()))
    return finish(self, step, record)
ex.Executor._finish = timed_finish
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(marks)))
sys.argv = ["navctl", "optimize", *sys.argv[2:]]
from navctl.cli.main import main
main()
"""


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def run(recipe: Path, launcher: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        marks_file = Path(tmp, "marks.json")
        command = [sys.executable, "-c", _DRIVER, str(marks_file), str(recipe), "--workspace", f"{tmp}/ws"]
        command += ["--package", f"{tmp}/run.nav"]
        started = time.time()
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NAVCTL_LAUNCHER": launcher},
        )
        ended = time.time()
        marks = json.loads(marks_file.read_text())
    steps = marks["steps"]
    first = min(a for a, _ in steps)
    last = max(b for _, b in steps)
    busy = _union(steps)
    worker = marks.get("worker", first)
    return {
        "wall": ended - started,
        "busy": busy,
        "cli": worker - started,
        "framework": first - worker,
        "gaps": (last - first) - busy,
        "end": ended - last,
    }


def report(name: str, runs: list[dict[str, float]]) -> None:
    figure = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    wall = figure["wall"]
    outside = wall - figure["busy"]
    print(
        f"{name} (median of {len(runs)}): wall {wall:.2f} s, steps busy {figure['busy']:.2f} s, "
        f"outside the steps {outside:.2f} s = {outside / wall * 100:.0f}% of wall"
    )
    parts = {
        "CLI before the worker starts": figure["cli"],
        "worker's framework import": figure["framework"],
        "gaps between steps": figure["gaps"],
        "after the last step": figure["end"],
    }
    for part, seconds in parts.items():
        print(f"  {part:<30} {seconds:6.2f} s  {seconds / wall * 100:4.1f}%")
    without_import = outside - figure["framework"]
    print(f"  outside, the framework import counted as the steps' work: {without_import / wall * 100:.1f}% of wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml")
    parser.add_argument("--fresh-too", action="store_true", help="also run with a fresh interpreter per step")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    launchers = ["warm", "fresh"] if args.fresh_too else ["warm"]
    runs: dict[str, list] = {name: [] for name in launchers}
    for _ in range(args.rounds):
        for name in launchers:  # alternating: both see the same machine
            runs[name].append(run(args.recipe.resolve(), name))
    for name in launchers:
        report("warm worker" if name == "warm" else "fresh interpreter per step", runs[name])


if __name__ == "__main__":
    main()
