"""How much slower is `navctl validate` than starting Python at all? Printed as a ratio, side by side.

Run: .venv/bin/python benchmarks/cli_startup.py [--rounds N]
Both commands are timed alternately in one run, so machine noise hits them alike.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _time(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    baseline_cmd = [sys.executable, "-c", "pass"]
    commands = {
        "validate": [sys.executable, "-m", "navctl", "validate", "recipes/quickstart.yaml"],
        "plan": [sys.executable, "-m", "navctl", "plan", "recipes/quickstart.yaml"],
        "--help": [sys.executable, "-m", "navctl", "--help"],
    }
    times: dict[str, list[float]] = {"python -c pass": [], **{k: [] for k in commands}}
    for _ in range(args.rounds):
        times["python -c pass"].append(_time(baseline_cmd))
        for name, cmd in commands.items():
            times[name].append(_time(cmd))
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<16} {'median s':>9} {'ratio to python -c pass':>24}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<16} {median:9.3f} {median / base:24.1f}x")


if __name__ == "__main__":
    main()
