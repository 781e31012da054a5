"""CPU formats beyond the reference tool: OpenVINO IR, offline-optimized ONNX, and tuned runners."""

from __future__ import annotations

import os

import pytest

from tests.helpers import FAST_PROFILING, load_status, run_cli

pytestmark = pytest.mark.slow


def test_openvino_and_tuned_onnxruntime_side_by_side(project) -> None:
    profiling = {**FAST_PROFILING, "batch_sizes": [1, 8, 32], "tune": True, "tune_budget_s": 20}
    recipe = project(
        targets=["onnx", "onnx-optimized", "openvino"], profiling=profiling, threads=2, batching={"max_batch_size": 32}
    )
    result = run_cli("optimize", str(recipe))
    assert result.returncode == 0, result.stderr
    ws = recipe.parent / "ws"
    status = load_status(ws)
    assert status["environment"]["threads"] == 2
    # profiled alone (tuning), with no session to judge the machine: each step counted the others' load
    assert status["profiling"]["interleaved"] is False
    assert status["profiling"]["cores"] == len(os.sched_getaffinity(0))
    assert status["profiling"]["other_cores"] is not None
    assert (ws / "openvino" / "model.xml").exists() and (ws / "openvino" / "model.bin").exists()
    assert (ws / "onnx-optimized" / "model.onnx").exists()
    keys = ["onnx@onnxruntime-cpu", "onnx-optimized@onnxruntime-cpu", "openvino@openvino-cpu"]
    for key in keys:
        entry = status["results"][key]
        assert entry["correctness"]["passed"], key
        assert [r["batch_size"] for r in entry["profile"]] == [1, 8, 32]
        # tuning tried the recipe's settings and at least one alternative at every size
        tried = {(str(t["settings"]), t["batch_size"]) for t in entry["tuning"] if "batch_size" in t}
        assert len({s for s, _ in tried}) >= 2, entry["tuning"]
        for record in entry["profile"]:
            same_size = [t["throughput"] for t in entry["tuning"] if t.get("batch_size") == record["batch_size"]]
            assert record["throughput"] == pytest.approx(max(same_size))
            assert record["settings"] is not None
    # the selection matches the measured winners
    best = {}
    for key in keys:
        for record in status["results"][key]["profile"]:
            size = str(record["batch_size"])
            if size not in best or record["throughput"] > best[size][0]:
                best[size] = (record["throughput"], key)
    assert status["best_by_batch_size"] == {size: key for size, (_, key) in best.items()}
    top = max(keys, key=lambda k: max(r["throughput"] for r in status["results"][k]["profile"]))
    assert status["selection"]["max-throughput"] == top
    fastest = min(keys, key=lambda k: status["results"][k]["profile"][0]["p50_ms"])
    assert status["selection"]["min-latency"] == fastest
