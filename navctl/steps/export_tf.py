"""TensorFlow formats: a SavedModel with a serving signature (from a TF or JAX model) and ONNX via tf2onnx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

from navctl.steps.child import StepContext, StepFailed
from navctl.steps.tensors import ModelIO, flatten_outputs


def save_serving(ctx: StepContext, io: ModelIO, body: Callable[[dict[str, Any]], Any], keep: object) -> None:
    """Save `body(feed) -> outputs` as a SavedModel whose serving signature takes the inputs by name
    (dynamic axes as None) and returns a dict keyed by navctl's output names."""
    import tensorflow as tf

    specs = [
        tf.TensorSpec([None if d == -1 else d for d in t.shape], tf.as_dtype(t.dtype), name=t.name) for t in io.inputs
    ]
    names = io.input_names

    @tf.function(input_signature=specs, autograph=False)  # autograph would transpile JAX internals for minutes
    def serve(*tensors):
        flat = flatten_outputs(body(dict(zip(names, tensors, strict=True))))
        if len(flat) != len(io.outputs):
            raise StepFailed(f"the model returns {len(flat)} outputs here, {len(io.outputs)} in the samples step")
        return {meta.name: value for meta, (_, value) in zip(io.outputs, flat, strict=True)}

    module = tf.Module()
    module.keep = keep  # tracks the model's variables so the SavedModel holds them
    module.serve = serve
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(module, str(target), signatures={"serving_default": serve.get_concrete_function()})
    ctx.add_artifact(ctx.spec.artifact)


def savedmodel(ctx: StepContext) -> dict[str, Any]:
    import tensorflow as tf

    from navctl.runners.tf import TfEagerRunner, call_tf_model
    from navctl.steps.common import runner_for

    io = ctx.io()
    runner = runner_for(ctx, f"tf-{ctx.spec.device}", io)
    assert isinstance(runner, TfEagerRunner)
    runner.load()
    save_serving(ctx, io, lambda feed: call_tf_model(runner.model, feed, io.call, io.input_names), runner.model)
    return {"tensorflow": tf.__version__}


def tf2onnx(ctx: StepContext) -> dict[str, Any]:
    """tf2onnx's own command line, so its log lands in this step's log; names are mapped back after."""
    from navctl.steps.onnx_names import restore_names

    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    opset = ctx.spec.options.get("opset", 18)
    command = [
        sys.executable,
        "-m",
        "tf2onnx.convert",
        "--saved-model",
        str(ctx.path(ctx.spec.source_artifact)),
        "--signature_def",
        "serving_default",
        "--opset",
        str(opset),
        "--output",
        str(target),
    ]
    ctx.log(" ".join(command))
    done = subprocess.run(command, stdout=sys.stdout, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0 or not target.exists():
        raise StepFailed(f"tf2onnx failed with exit code {done.returncode}; its output is in this step's log")
    renamed = restore_names(str(target), ctx.io())
    ctx.add_artifact(ctx.spec.artifact)
    return {"exporter": "tf2onnx", "opset": opset, "renamed": renamed}
