"""The two ONNX exporters side by side on models both export: the TorchScript-based one (a trace) and
dynamo. Why navctl's `exporter: auto` tries the trace first and dynamo only when the tracer warns.

Run: .venv/bin/python benchmarks/onnx_exporters.py [--rounds N]
Each round exports every model with both exporters alternately in one process, so machine noise hits
them alike; the first round (imports, dynamo's one-time set-up) is reported apart. Also checks that the
two files give the same outputs in ONNX Runtime at a batch size the export never saw.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch


def mlp() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))


def cnn() -> torch.nn.Module:
    def block(cin: int, cout: int) -> list[torch.nn.Module]:
        return [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.BatchNorm2d(cout), torch.nn.ReLU()]

    return torch.nn.Sequential(
        *block(3, 16), *block(16, 32), torch.nn.MaxPool2d(2), *block(32, 64), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(64, 10),
    )  # fmt: skip


MODELS = {"mlp (quickstart-like)": (mlp, (2, 64)), "small cnn 3x32x32": (cnn, (2, 3, 32, 32))}


def export(model: torch.nn.Module, example: torch.Tensor, path: Path, dynamo: bool) -> float:
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            batch = torch.export.Dim("batch", min=1, max=1024)
            torch.onnx.export(
                model, (example,), str(path), dynamo=True, input_names=["x"], dynamic_shapes={"input": {0: batch}}
            )
        else:
            torch.onnx.export(
                model, (example,), str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "batch"}}
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        print(
            f"{'model':<22} {'exporter':<12} {'first s':>8} {'median s':>9} {'ratio':>7} {'max abs diff @batch 5':>22}"
        )
        for name, (build, shape) in MODELS.items():
            model = build().eval()
            example = torch.randn(*shape)
            times: dict[str, list[float]] = {"torchscript": [], "dynamo": []}
            for _ in range(args.rounds + 1):
                for exporter in times:
                    times[exporter].append(
                        export(model, example, Path(folder) / f"{exporter}.onnx", exporter == "dynamo")
                    )
            probe = np.random.default_rng(0).standard_normal((5, *shape[1:])).astype(np.float32)
            outputs = {
                e: ort.InferenceSession(str(Path(folder) / f"{e}.onnx")).run(None, {"x": probe})[0] for e in times
            }
            diff = float(np.abs(outputs["torchscript"] - outputs["dynamo"]).max())
            base = statistics.median(times["torchscript"][1:])
            for exporter, values in times.items():
                median = statistics.median(values[1:])
                print(f"{name:<22} {exporter:<12} {values[0]:8.3f} {median:9.3f} {median / base:6.1f}x {diff:22.2g}")


if __name__ == "__main__":
    main()
