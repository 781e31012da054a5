"""Where the quickstart's wall time goes: the steps' own work against everything around it.

Runs recipes/quickstart.yaml in a temporary workspace (fresh, no cache) with the warm worker and, for
comparison, with a fresh interpreter per step (NAVCTL_LAUNCHER=fresh), and prints per-kind step time,
profiling time per runner, and the ratio of wall time to the sum of step durations.

Run: .venv/bin/python benchmarks/quickstart_cost.py [--fresh-too]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def run(launcher: str) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "navctl",
                "optimize",
                str(REPO / "recipes" / "quickstart.yaml"),
                "--workspace",
                f"{tmp}/ws",
                "--package",
                f"{tmp}/q.nav",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "NAVCTL_LAUNCHER": launcher},
        )
        wall = time.perf_counter() - started
        return wall, yaml.safe_load(Path(tmp, "ws", "status.yaml").read_text())


def report(name: str, wall: float, status: dict) -> None:
    by_kind: dict[str, float] = defaultdict(float)
    for step in status["steps"].values():
        by_kind[step["kind"]] += step.get("duration_s") or 0.0
    total = sum(by_kind.values())
    print(
        f"{name}: wall {wall:.1f}s, steps' own time {total:.1f}s, outside the steps {wall - total:.1f}s "
        f"({(wall - total) / wall * 100:.0f}% of wall); wall / step time = {wall / total:.2f}"
    )
    print("  by kind: " + ", ".join(f"{k} {v:.1f}s" for k, v in by_kind.items() if v))
    profiles = {
        k.removeprefix("profile/"): v["duration_s"]
        for k, v in status["steps"].items()
        if v["kind"] == "profile" and v.get("duration_s")
    }
    print("  profile per runner: " + ", ".join(f"{k} {v:.1f}s" for k, v in profiles.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh-too", action="store_true", help="also run with a fresh interpreter per step")
    args = parser.parse_args()
    warm_wall, warm_status = run("warm")
    report("warm worker", warm_wall, warm_status)
    if args.fresh_too:
        fresh_wall, fresh_status = run("fresh")
        report("fresh interpreter per step", fresh_wall, fresh_status)
        print(f"fresh / warm wall time: {fresh_wall / warm_wall:.2f}")


if __name__ == "__main__":
    main()
