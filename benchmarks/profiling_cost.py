"""What the side-by-side profile step costs under different measurement settings, and what it finds.

Runs navctl once per model (the vs_model_navigator MLP and CNN; targets torchscript, torch-export,
onnx; 5 runners), then replays that run's real side-by-side profile step (its spec.json, timed in an
interpreter that imported torch first, as in navctl's warm worker) under each variant of the
profiling options, variants alternating within each repeat so they share the machine's moods.

For each variant: the step's wall time, the points measured, and what the selection would read from
the figures: the max-throughput and min-latency (p50 at batch 1) winners in every repeat, and each
runner's best throughput relative to the reference (the source model) measured in the same rounds.
A variant that is cheaper but changes the winners, or moves the ratios beyond the repeats' own
spread, measured less than the figures need.

Run: .venv/bin/python benchmarks/profiling_cost.py [--repeats 3] [--models mlp,cnn]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vs_model_navigator import lay_out, write_recipe  # noqa: E402 - the side-by-side benchmark's models

SESSION = "steps/profile/side-by-side"
# The step as the warm worker runs it: the framework imported before the clock starts.
_TIMED_STEP = """
import sys, time
import torch, torch._export.serde.serialize
from navctl.steps.child import main
exec(sys.argv[2])  # the variant's module constants
started = time.perf_counter()
code = main([sys.argv[1]])
print(time.perf_counter() - started)
sys.exit(code)
"""
# The settings before issue 19's profiling changes, then one change at a time, then all of them.
# Each: the members' profiling options, and Python setting module constants in the step's interpreter.
_OLD_WARMUP = "import navctl.profiling.interleave as i; i.BETWEEN_SIZES_WARMUP_S = 0.02"
VARIANTS: dict[str, tuple[dict, str]] = {
    "before": ({"predict_saturation": False, "window_ms": 50.0}, _OLD_WARMUP),
    "predict saturation": ({"predict_saturation": True, "window_ms": 50.0}, _OLD_WARMUP),
    "window 25 ms": ({"predict_saturation": False, "window_ms": 25.0}, _OLD_WARMUP),
    "1-call warm-up": ({"predict_saturation": False, "window_ms": 50.0}, ""),
    "after (defaults)": ({}, ""),
    # kept to show why SETTLE_S stays 5 ms: at 1 ms the same-round ratios spread 2-5x wider
    "after, settle 1 ms": ({}, "import navctl.profiling.interleave as i; i.SETTLE_S = 0.001"),
}


def build(folder: Path, name: str) -> Path:
    write_recipe(folder, name, f"ws-{name}")
    subprocess.run(
        [sys.executable, "-m", "navctl", "optimize", f"{name}.yaml", "--no-package"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return folder / f"ws-{name}"


def replay(workspace: Path, variant: tuple[dict, str], scratch: Path) -> tuple[float, dict]:
    """Copy the workspace, set the members' profiling options, run the session step; its figures."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(workspace, scratch, symlinks=True)
    session = json.loads((scratch / SESSION / "spec.json").read_text())
    for member in session["options"]["members"]:
        spec = json.loads((scratch / member).read_text())
        spec["options"].update(variant[0])
        (scratch / member).write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, "-c", _TIMED_STEP, f"{SESSION}/spec.json", variant[1]],
        cwd=scratch,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = float(done.stdout.strip().splitlines()[-1])
    figures = {}
    for member in session["options"]["members"]:
        step = Path(member).parent
        result = json.loads((scratch / step / "result.json").read_text())
        key = step.name
        figures[key] = result["metrics"]["profile"]
    return wall, figures


def summarise(figures: dict) -> tuple[str, str, int, dict[str, float]]:
    best = {k: max(r["throughput"] for r in recs) for k, recs in figures.items() if recs}
    p50 = {k: recs[0]["p50_ms"] for k, recs in figures.items() if recs}
    reference = next(k for k in best if k.startswith("source@"))
    ratios = {k: best[k] / best[reference] for k in best if k != reference}
    points = sum(len(r) for r in figures.values())
    return max(best, key=best.get), min(p50, key=p50.get), points, ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="mlp,cnn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lay_out(folder)
        for name in args.models.split(","):
            workspace = build(folder, name)
            rows: dict[str, list] = {v: [] for v in VARIANTS}
            for repeat in range(args.repeats):
                shift = repeat % len(VARIANTS)  # each variant takes each position in turn
                order = list(VARIANTS)[shift:] + list(VARIANTS)[:shift]
                for variant in order:
                    wall, figures = replay(workspace, VARIANTS[variant], folder / "scratch")
                    rows[variant].append((wall, *summarise(figures)))
            print(f"\n{name}: side-by-side profile step, {args.repeats} repeats per variant, alternating")
            header = f"{'variant':<22} {'step s':>7} {'vs before':>9} {'points':>6}"
            print(header + "  winners (max-throughput / min-latency)")
            base = statistics.median(w for w, *_ in rows["before"])
            for variant, runs in rows.items():
                wall = statistics.median(w for w, *_ in runs)
                winners = sorted({f"{t} / {lat}" for _, t, lat, _, _ in runs})
                points = statistics.median(p for *_, p, _ in runs)
                print(f"{variant:<22} {wall:>7.2f} {wall / base:>8.2f}x {points:>6.0f}  {'; '.join(winners)}")
            keys = sorted(rows["before"][0][4])
            print(f"{'best throughput / source':<22} " + " ".join(f"{k.split('@')[0]:>18}" for k in keys))
            for variant, runs in rows.items():
                cells = []
                for k in keys:
                    values = [r[4][k] for r in runs]
                    cells.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})")
                print(f"{variant:<22} " + " ".join(f"{c:>18}" for c in cells))


if __name__ == "__main__":
    main()
