"""Profiler accuracy and repeatability, measured side by side in one run.

(a) accuracy: the throughput navctl's profiler reports for ONNX Runtime on CPU (the same runner and
    measure() the profile step uses) against an independent tight loop of `session.run` timed with
    time.perf_counter, alternating the two, at batch 1, 32 and 4096, on a ~4 MFLOP/sample MLP. Batch
    4096 (about 60 ms a request on 2 cores) takes the slow-window path: five requests outlast
    `rules.SLOW_WINDOW_S`, so a window ends there with what it holds; `--slow-window-s` sets it to
    compare values (batch 1024, about 14 ms a request, still fills its windows on five requests).
(b) repeatability: three profiles of the same runner; the spread is (max - min) / mean.

Run: .venv/bin/python benchmarks/profiler_accuracy.py [--slow-window-s 0.1] [--batches 1,32,4096]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from navctl.contract.step import ModelRef
from navctl.profiling import rules
from navctl.profiling.measure import MeasureSettings, measure
from navctl.runners.base import RunnerConfig, create_runner

SIZES = [512, 1024, 1024, 512]  # 512*1024 + 1024*1024 + 1024*512 MACs = about 4.2 MFLOP per sample
THREADS = 2
ROUNDS = 3


def build_model(path: Path) -> Path:
    rng = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i, (a, b) in enumerate(zip(SIZES, SIZES[1:], strict=False)):
        inits.append(numpy_helper.from_array((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"]))
        nodes.append(helper.make_node("Relu", [f"h{i}"], [f"r{i}"]))
        prev = f"r{i}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", SIZES[0]])],
        [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["batch", SIZES[-1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def tight_loop(session, feed: dict, batch: int, seconds: float) -> float:
    for _ in range(20):
        session.run(None, feed)
    count = 0
    start = time.perf_counter()
    while True:
        session.run(None, feed)
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count * batch / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--window-ms", type=float, default=MeasureSettings.window_ms)
    parser.add_argument("--stability-pct", type=float, default=MeasureSettings.stability_pct)
    parser.add_argument("--windows", type=int, default=MeasureSettings.windows)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--slow-window-s", type=float, default=rules.SLOW_WINDOW_S)
    parser.add_argument("--batches", default="1,32,4096")
    args = parser.parse_args()
    rules.SLOW_WINDOW_S = args.slow_window_s
    with tempfile.TemporaryDirectory() as tmp:
        path = build_model(Path(tmp) / "mlp.onnx")
        runner = create_runner(
            "onnxruntime-cpu",
            RunnerConfig(artifact=path, io=None, device="cpu", threads=THREADS, model=ModelRef(), recipe_dir=Path(tmp)),
        )
        runner.load()
        settings = MeasureSettings(window_ms=args.window_ms, stability_pct=args.stability_pct, windows=args.windows)
        print(
            f"model: MLP {SIZES}, about {2 * sum(a * b for a, b in zip(SIZES, SIZES[1:], strict=False)) / 1e6:.1f} "
            f"MFLOP/sample; onnxruntime-cpu, {THREADS} threads; {args.rounds} alternating rounds; "
            f"windows {settings.windows} x {settings.window_ms:g} ms (slow: {rules.SLOW_WINDOW_S:g} s) within "
            f"{settings.stability_pct:g}%"
        )
        print(
            f"{'batch':>5} {'navctl (/s)':>12} {'tight loop (/s)':>16} {'ratio':>6} {'navctl spread':>14} "
            f"{'loop spread':>12} {'s/profile':>10} {'ms/request':>11}"
        )
        for batch in (int(b) for b in args.batches.split(",")):
            feed = {"x": np.random.default_rng(1).standard_normal((batch, SIZES[0])).astype(np.float32)}
            ours, loop, cost, request_ms = [], [], [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                record = measure(lambda feed=feed: runner.infer(feed), batch, settings)
                ours.append(record.throughput)
                request_ms.append(record.mean_ms)
                cost.append(time.perf_counter() - started)
                loop.append(tight_loop(runner.session, feed, batch, seconds=cost[-1]))
            a, b = statistics.median(ours), statistics.median(loop)
            spread = (max(ours) - min(ours)) / statistics.mean(ours) * 100
            loop_spread = (max(loop) - min(loop)) / statistics.mean(loop) * 100
            print(
                f"{batch:>5} {a:>12,.0f} {b:>16,.0f} {a / b:>6.3f} {spread:>13.1f}% {loop_spread:>11.1f}% "
                f"{statistics.mean(cost):>10.2f} {statistics.median(request_ms):>11.1f}"
            )
        runner.close()


if __name__ == "__main__":
    main()
