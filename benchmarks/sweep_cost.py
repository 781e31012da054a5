"""Issue 31's sweep rules one at a time: the side-by-side profile step replayed under each, alternating.

Replays a finished navctl workspace's side-by-side profile step (benchmarks/profiling_cost.py's
`replay`: the real runners, the real step, the members' options and module constants set per
variant) so every variant meets the same machine in turn, then prints each variant's step time,
points measured, winners and ratios as profiling_cost.py does. The "before" variant turns the new
rules off from the outside: patience 3 (the third miss, as before), windows of 5 requests whatever
their length, no early stop of a slower runner. Warm-up shared across shapes has no switch (it
saves one time-based warm-up per runner and shape: 0.1 s each by default).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/sweep_cost.py WORKSPACE [--repeats 2] [--variants before,after]

WORKSPACE: a workspace navctl optimize left (e.g. benchmarks/navctl_alone.py --keep DIR, then
DIR/navctl-resnet18-1); its recipe folder must still exist (the step loads the model from there).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profiling_cost import replay, summarise  # noqa: E402 - the replay of a real profile step

_NO_SLOW_WINDOWS = "import navctl.profiling.rules as r; r.SLOW_WINDOW_REQUESTS = r.MIN_WINDOW_REQUESTS"
_NO_EARLY_STOP = "import navctl.profiling.rules as r; r.EARLY_STOP_MIN_SIZES = 10**9"
VARIANTS: dict[str, tuple[dict, str]] = {
    "before": ({"patience": 3}, f"{_NO_SLOW_WINDOWS}; {_NO_EARLY_STOP}"),
    "second miss": ({}, f"{_NO_SLOW_WINDOWS}; {_NO_EARLY_STOP}"),
    "short slow windows": ({"patience": 3}, _NO_EARLY_STOP),
    "early stop": ({"patience": 3}, _NO_SLOW_WINDOWS),
    "after": ({}, ""),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"some of: {', '.join(VARIANTS)}")
    args = parser.parse_args()
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"--variants: unknown {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    rows: dict[str, list] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            shift = repeat % len(names)  # each variant takes each position in turn
            for name in names[shift:] + names[:shift]:
                wall, figures = replay(args.workspace.resolve(), VARIANTS[name], Path(tmp) / "scratch")
                winner, fastest, points, _ = summarise(figures)
                sizes = {k.split("@")[0]: [r["batch_size"] for r in recs][-1] for k, recs in figures.items() if recs}
                rows[name].append((wall, winner, fastest, points))
                print(f"{name} repeat {repeat + 1}: {wall:.1f} s, {points} points, largest size {sizes}; "
                      f"max-throughput {winner}, min-latency {fastest}", flush=True)  # fmt: skip
    base = statistics.median(w for w, *_ in rows[names[0]])
    header = f"\n{'variant':<18} {'step s':>7} {'vs ' + names[0]:>10} {'points':>6}"
    print(header + "  winners (max-throughput / min-latency)")
    for name, runs in rows.items():
        wall = statistics.median(w for w, *_ in runs)
        winners = "; ".join(sorted({f"{t} / {lat}" for _, t, lat, _ in runs}))
        points = statistics.median(p for *_, p in runs)
        print(f"{name:<18} {wall:>7.1f} {wall / base:>9.2f}x {points:>6.0f}  {winners}")


if __name__ == "__main__":
    main()
