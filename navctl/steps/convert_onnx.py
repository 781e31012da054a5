"""onnx-optimized: ONNX Runtime's offline graph optimizations saved to disk, so sessions start fast.

The EXTENDED level is used: ALL adds layout changes tied to the machine that made the file.
"""

from __future__ import annotations

from typing import Any

from navctl.steps.child import StepContext


def optimize_offline(ctx: StepContext) -> dict[str, Any]:
    import onnxruntime as ort

    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.intra_op_num_threads = ctx.spec.threads
    ort.InferenceSession(str(ctx.path(ctx.spec.source_artifact)), options, providers=["CPUExecutionProvider"])
    ctx.add_artifact(ctx.spec.artifact)
    return {"level": "extended", "onnxruntime": ort.__version__}
