"""navctl alone on vs_model_navigator's models: wall time, profiling share, per-phase time and selection.

The half of benchmarks/vs_model_navigator.py that needs no Model Navigator venv: the same folder
(bench_models.py as models.py, checkpoints written before timing), the same recipes and the same
figures from status.yaml, for each model in turn, `--rounds` times. Use it to compare two versions
of the profiling code on one machine, and to check that repeated runs select the same runners.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/navctl_alone.py [--models mlp,cnn,resnet18,bert] \\
        [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vs_model_navigator import lay_out, run_navctl, selection_text  # noqa: E402 - the sibling benchmark


def stopped_lines(folder: Path, name: str, round_: int) -> list[str]:
    """Why each runner's sweep ended, from status.yaml (the early stops this benchmark checks)."""
    import yaml

    status = yaml.safe_load((folder / f"navctl-{name}-{round_}" / "status.yaml").read_text())
    lines = []
    for key, result in status["results"].items():
        sizes = [p["batch_size"] for p in result.get("profile") or []]
        lines.append(f"    {key}: sizes {sizes}; stopped: {result.get('profile_stopped') or '-'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--models", default="mlp,cnn,resnet18,bert")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep the workspaces")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep.resolve() if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        lay_out(folder)
        for round_ in range(1, args.rounds + 1):
            for name in args.models.split(","):
                load = os.getloadavg()[0]
                ours = run_navctl(folder, name, round_)
                phases = ", ".join(f"{k} {v:.1f}" for k, v in sorted(ours["phases"].items(), key=lambda kv: -kv[1]))
                print(
                    f"{name} round {round_} (load {load:.1f}): wall {ours['wall']:.1f} s, profiling "
                    f"{ours['profile_s']:.1f} s ({ours['profile_s'] / ours['wall']:.0%}), exit {ours['exit']}; "
                    f"selection {selection_text(ours['selection'])}; phases: {phases}"
                    + (f"; unreliable: {ours['unreliable']}" if ours["unreliable"] else ""),
                    *stopped_lines(folder, name, round_),
                    sep="\n",
                    flush=True,
                )
                records.append({"model": name, "round": round_, "load": load, **ours})
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
