#!/usr/bin/env bash
# GPU check: runs navctl's CUDA paths end to end on a small model and prints one table.
#   format | runner | state | max abs err | p50 ms (batch 1) | best throughput
# Installs nothing from the network. navctl's light dependencies (pydantic, typer, rich, pyyaml,
# filelock; psutil, without which the busy-machine count reads as unknown) may come as wheels in
# $NAVCTL_WHEELS (default: .whl/ in the repo), installed with --no-index into a scratch folder;
# torch, onnxruntime and (when present) tensorrt come from the machine.
# Finishes within about 8 minutes (each step has a 3-minute timeout; the whole script 8 minutes).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
python=${PYTHON:-python3}
wheels=${NAVCTL_WHEELS:-$repo/.whl}
if compgen -G "$wheels/*.whl" > /dev/null; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$work/site" "$wheels"/*.whl || exit 3
  export PYTHONPATH="$work/site:$repo${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
fi
"$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 4)" || {
  echo "gpu-check: torch sees no CUDA device"; exit 4; }

cp recipes/models/mlp.py "$work/mlp.py"
targets="[torchscript, torch-export, onnx, torch-aoti"
"$python" -c "import tensorrt" 2>/dev/null && targets="$targets, tensorrt"
targets="$targets]"
for precision in fp32 fp16; do
  autocast=none; [ "$precision" = fp16 ] && autocast=fp16
  cat > "$work/$precision.yaml" <<YAML
name: gpu-check-$precision
framework: torch
model: {entrypoint: mlp.py:build}
dataloader: {factory: mlp.py:samples, kwargs: {count: 4, batch: 8}}
targets: $targets
device: cuda
torch: {autocast: $autocast}
correctness: {atol: $([ "$precision" = fp16 ] && echo 0.05 || echo 0.001), rtol: 0.01}
tensorrt: {precisions: [$precision], max_batch_size: 64}
profiling: {batch_sizes: [1, 8, 64]}
step_timeout: 3m
workspace: ws-$precision
YAML
  timeout 230 "$python" -m navctl optimize "$work/$precision.yaml" --no-package > "$work/$precision.log" 2>&1
  echo "gpu-check: $precision run exited $?"
done

"$python" - "$work" <<'PY'
import sys
from pathlib import Path

import yaml

rows = []
for precision in ("fp32", "fp16"):
    path = Path(sys.argv[1]) / f"ws-{precision}" / "status.yaml"
    if not path.exists():
        rows.append((precision, "-", "-", "no status.yaml", "-", "-", "-"))
        continue
    status = yaml.safe_load(path.read_text())
    results = status.get("results", {})
    for step_id, step in status["steps"].items():
        if step["kind"] not in ("correctness", "profile") or "@" not in step_id:
            continue
        key = step_id.split("/", 1)[1]
        if step["kind"] == "correctness" and f"profile/{key}" in status["steps"]:
            continue  # one row per format@runner: the profile step's row carries both
        result = results.get(key, {})
        errors = [o.get("max_abs") for o in (result.get("correctness") or {}).get("outputs", {}).values()]
        profile = result.get("profile") or []
        first = min(profile, key=lambda r: r["batch_size"]) if profile else None
        best = max((r["throughput"] for r in profile), default=None)
        state = step["state"] + (f" ({step['reason'][:60]})" if step["state"] not in ("ok", "cached") else "")
        fmt, runner = key.split("@")
        rows.append((precision, fmt, runner, state,
                     f"{max(e for e in errors if e is not None):.2e}" if any(e is not None for e in errors) else "-",
                     f"{first['p50_ms']:.3f}" if first else "-", f"{best:,.0f}" if best else "-"))
header = ("precision", "format", "runner", "state", "max abs err", "p50 ms (b=min)", "best thr./s")
widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
for row in [header, tuple("-" * w for w in widths), *rows]:
    print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))
PY
