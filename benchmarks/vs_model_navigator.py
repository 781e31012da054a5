"""navctl against NVIDIA Triton Model Navigator on the same models, targets and machine, side by side.

Model Navigator runs from a venv of its own, as a torch user on a CPU machine installs it: torch
(the CPU build of 2.13.0, navctl's) and Model Navigator's own runtime dependencies, nothing of
navctl's (no TensorFlow, JAX, OpenVINO, Ray; no `.pth` into navctl's venv; PYTHONPATH dropped for
its runs). Make it once (benchmarks/mn_venv.py says why each package is there or not):

    python3 -m venv /work/mn-venv
    echo 'torch==2.13.0' > /work/mn-venv/constraints.txt
    /work/mn-venv/bin/pip install -c /work/mn-venv/constraints.txt torch==2.13.0
    /work/mn-venv/bin/pip install -c /work/mn-venv/constraints.txt --no-deps triton-model-navigator==0.14.0
    /work/mn-venv/bin/pip install -c /work/mn-venv/constraints.txt 'dacite~=1.8' 'fire>=0.4.0' \\
        'jsonlines>=3.1.0' 'loguru>=0.7.2' 'mpmath~=1.3' 'numpy<2' 'onnx~=1.16' 'onnx_graphsurgeon~=0.5' \\
        'onnxruntime~=1.20' onnxscript 'packaging~=24.1' 'polygraphy>=0.49.0' 'psutil>=5.7' 'py-cpuinfo>=8.0' \\
        'pynvml~=11.5' 'python-slugify~=8.0' 'pyyaml~=6.0' 'tabulate>=0.8' 'tritonclient[grpc]~=2.47' \\
        'wrapt>=1.16' 'pyee>=11.1.0' 'rich>=13.7.1' 'protobuf>=4'

(or pass `--make-mn-venv /work/mn-venv`, which runs exactly these). An interpreter given with
`--mn-python` that can import navctl's packages is measured all the same, but every line says
"SHARED environment".

    PYTHONPATH=$PWD .venv/bin/python benchmarks/vs_model_navigator.py --mn-python /work/mn-venv/bin/python \\
        [--rounds 2] [--models mlp,cnn,resnet18,bert] [--keep DIR]

Models (benchmarks/bench_models.py, copied as models.py beside the recipes; both tools import it):
the 64-256-256-10 MLP, a small conv/BN/ReLU net on 3x32x32, a ResNet-18 on 3x128x128 and a 4-layer
BERT-like encoder (hidden 256, 4 heads) over sequences of 64 and 128; 8 samples of batch 4 each. Both
tools get the targets torchscript (trace and script), torch.export and ONNX on the CPU, check
correctness and profile with their defaults. Each round runs both tools on each model in fresh
workspaces, one after the other (navctl first in odd rounds, Model Navigator first in even ones), and
prints the load average before the pair and the ratio of the wall times (navctl / Model Navigator).

For navctl, from its status.yaml: the profiling share (the side-by-side profile session's duration,
plus any profile step outside it, over the wall time), the selection and the time of each phase
(samples, export, correctness, profile, ... summed over the phase's steps; steps of one phase may run
side by side). For Model Navigator, from its workspace: what it delivered (format@runner whose
correctness and performance both passed), what failed and at which command, its own pick
(`package.get_best_runtime()`; none when nothing passed), and its time per command kind from
navigator.log.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mn_venv  # noqa: E402 - the sibling module that makes and probes Model Navigator's venv
from mn_report import read_model_navigator  # noqa: E402 - the sibling reader of its workspace

HERE = Path(__file__).resolve().parent
TARGETS = ["torchscript", "torch-export", "onnx"]
# Model Navigator spawns processes, which re-import the main module: without the guard each child
# would run optimize() again inside the parent's command (its logger then fails and formats are skipped).
MODEL_NAVIGATOR = """
import json, sys, traceback
import model_navigator as nav


def main():
    folder, name, workspace = sys.argv[1:4]
    sys.path.insert(0, folder)
    import models

    outcome = {"best": None, "error": None}
    try:
        package = nav.torch.optimize(
            getattr(models, name)(),
            getattr(models, name + "_samples")(),
            target_formats=(nav.Format.TORCHSCRIPT, nav.Format.TORCH_EXPORTEDPROGRAM, nav.Format.ONNX),
            target_device=nav.DeviceKind.CPU,
            workspace=workspace,
        )
        try:
            best = package.get_best_runtime()
            outcome["best"] = f"{best.model_status.model_config.key}@{best.runner_status.runner_name}"
        except Exception as error:  # its analyzer raises when no format passed
            outcome["error"] = f"no best runtime: {error}"
    except Exception:
        outcome["error"] = traceback.format_exc(limit=3)
    with open(workspace + ".outcome.json", "w") as out:
        json.dump(outcome, out)


if __name__ == "__main__":
    main()
"""


def lay_out(folder: Path) -> None:
    """The benchmark folder: models.py (bench_models.py) and the checkpoints it loads, written before any timing."""
    shutil.copy(HERE / "bench_models.py", folder / "models.py")
    (folder / "mn_run.py").write_text(MODEL_NAVIGATOR)
    subprocess.run([sys.executable, "-c", "import models; models.prepare_weights()"], cwd=folder, check=True)


def write_recipe(folder: Path, name: str, workspace: str) -> Path:
    """navctl's recipe for one of bench_models' models (beside models.py in `folder`): the peer's targets."""
    recipe = {
        "name": name,
        "framework": "torch",
        "model": {"entrypoint": f"models.py:{name}"},
        "dataloader": {"factory": f"models.py:{name}_samples"},
        "targets": TARGETS,
        "device": "cpu",
        "workspace": workspace,
    }
    if any((folder / "weights").glob(f"{name}.pt")):
        recipe["runtime_files"] = [f"weights/{name}.pt"]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    return time.perf_counter() - started, done.returncode, done.stdout[-3000:] + done.stderr[-3000:]


def read_navctl(workspace: Path) -> dict:
    """Profiling time, selection and per-phase time from a finished run's status.yaml."""
    status = yaml.safe_load((workspace / "status.yaml").read_text())
    session = set(status["profiling"]["runners"]) if status["profiling"].get("interleaved") else set()
    phases: dict[str, float] = {}
    session_s = 0.0
    for name, step in status["steps"].items():
        seconds = step.get("duration_s")
        if seconds is None:
            continue
        if step["kind"] == "profile" and name.removeprefix("profile/") in session:
            session_s = max(session_s, seconds)  # each member records the whole session's time
            continue
        phases[step["kind"]] = phases.get(step["kind"], 0.0) + seconds
    phases["profile"] = phases.get("profile", 0.0) + session_s
    return {
        "profile_s": phases["profile"],
        "phases": phases,
        "selection": status["selection"],
        "profiled": sum(1 for r in status["results"].values() if r.get("profile")),
        "failed": [n for n, s in status["steps"].items() if s["state"] in ("failed", "timeout", "crashed")],
        "unreliable": status["profiling"].get("unreliable", ""),
    }


def run_navctl(folder: Path, name: str, round_: int) -> dict:
    workspace = f"navctl-{name}-{round_}"
    recipe = write_recipe(folder, name, workspace)
    wall, code, tail = timed([sys.executable, "-m", "navctl", "optimize", str(recipe), "--no-package"], folder)
    if not (folder / workspace / "status.yaml").exists():
        raise SystemExit(f"navctl on {name} exited {code} without a status.yaml:\n{tail}")
    return {"wall": wall, "exit": code, **read_navctl(folder / workspace)}


def run_model_navigator(folder: Path, python: Path, name: str, round_: int) -> dict:
    workspace = folder / f"mn-{name}-{round_}"
    command = [str(python), str(folder / "mn_run.py"), str(folder), name, str(workspace)]
    wall, code, tail = timed(command, folder, env=mn_venv.environment())
    outcome_file = Path(f"{workspace}.outcome.json")
    outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else {"best": None, "error": tail}
    return {"wall": wall, "exit": code, **outcome, **read_model_navigator(workspace)}


def selection_text(selection: dict[str, str | None]) -> str:
    picks = set(selection.values())
    if len(picks) == 1:
        return f"{picks.pop()} (all)"
    return ", ".join(f"{strategy}: {key}" for strategy, key in selection.items())


def report_pair(name: str, round_: int, load: float, ours: dict, theirs: dict) -> str:
    delivered = ", ".join(theirs["delivered"]) or "NOTHING"
    return (
        f"| {name} | {round_} | {load:.1f} | {ours['wall']:.1f} | {ours['profile_s'] / ours['wall']:.0%} "
        f"| {selection_text(ours['selection'])} | {theirs['wall']:.1f} | {delivered} | {theirs['best'] or '-'} "
        f"| {ours['wall'] / theirs['wall']:.2f}x |"
    )


def phase_line(name: str, round_: int, ours: dict, theirs: dict) -> str:
    mine = ", ".join(f"{k} {v:.1f}" for k, v in sorted(ours["phases"].items(), key=lambda kv: -kv[1]))
    peer = ", ".join(f"{k} {v:.1f}" for k, v in sorted(theirs["phases"].items(), key=lambda kv: -kv[1]))
    failed = "; ".join(theirs["failed"]) or "nothing"
    notes = f" navctl failed steps: {', '.join(ours['failed'])}." if ours["failed"] else ""
    if ours["unreliable"]:
        notes += f" navctl: numbers unreliable ({ours['unreliable']})."
    return (
        f"- {name} round {round_}: navctl s by phase: {mine} (wall {ours['wall']:.1f}, exit {ours['exit']}, "
        f"{ours['profiled']} runners profiled); Model Navigator s by command: {peer} (wall {theirs['wall']:.1f}, "
        f"exit {theirs['exit']}); its failures: {failed}.{notes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--mn-python", type=Path, help="an interpreter with triton-model-navigator installed")
    where.add_argument("--make-mn-venv", type=Path, metavar="DIR", help="create Model Navigator's venv there first")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models", default="mlp,cnn,resnet18,bert")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep the workspaces")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    python = mn_venv.make(args.make_mn_venv.resolve()) if args.make_mn_venv else args.mn_python
    print(f"Model Navigator: {mn_venv.describe(python)}", flush=True)
    names = args.models.split(",")
    rows, details, records = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep.resolve() if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        lay_out(folder)
        for round_ in range(1, args.rounds + 1):
            for name in names:
                load = os.getloadavg()[0]
                runs = {}
                order = ("navctl", "mn") if round_ % 2 else ("mn", "navctl")
                for tool in order:
                    if tool == "navctl":
                        runs[tool] = run_navctl(folder, name, round_)
                    else:
                        runs[tool] = run_model_navigator(folder, python, name, round_)
                rows.append(report_pair(name, round_, load, runs["navctl"], runs["mn"]))
                details.append(phase_line(name, round_, runs["navctl"], runs["mn"]))
                records.append({"model": name, "round": round_, "load": load, **runs})
                print(rows[-1], details[-1], sep="\n", flush=True)
    print("\n| model | round | load avg | navctl s | profiling share | navctl selection | MN s | MN delivered "
          "| MN pick | ratio |\n|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n" + "\n".join(details))
    for name in names:
        ratios = [r["navctl"]["wall"] / r["mn"]["wall"] for r in records if r["model"] == name]
        print(f"{name}: navctl / Model Navigator wall time, median of {len(ratios)}: {statistics.median(ratios):.2f}x")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
