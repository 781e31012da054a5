"""TensorFlow formats: a SavedModel with a serving signature (from a TF or JAX model) and ONNX via tf2onnx."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from navctl.contract.tensors import ModelIO, flatten_outputs
from navctl.steps.child import StepContext, StepFailed


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
    """tf2onnx's own command line, run in this step's process: TensorFlow is imported here already (a
    fresh interpreter would import it again, 3-4 s), and its log goes to this step's log all the same.
    Names are mapped back after."""
    from tf2onnx import convert

    from navctl.steps.onnx_names import restore_names

    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    opset = ctx.spec.options.setting("opset", 18)
    arguments = [
        "--saved-model",
        str(ctx.path(ctx.spec.source_artifact)),
        "--signature_def",
        "serving_default",
        "--opset",
        str(opset),
        "--output",
        str(target),
    ]
    ctx.log("python -m tf2onnx.convert " + " ".join(arguments))
    argv, sys.argv = sys.argv, ["tf2onnx.convert", *arguments]
    try:
        convert.main()
    except SystemExit as exc:  # its argument parser's way to fail
        if exc.code not in (None, 0):
            raise StepFailed(f"tf2onnx exited with {exc.code}; its output is in this step's log") from None
    finally:
        sys.argv = argv
    if not target.exists():
        raise StepFailed("tf2onnx wrote no model; its output is in this step's log")
    renamed = restore_names(str(target), ctx.io())
    ctx.add_artifact(ctx.spec.artifact)
    return {"exporter": "tf2onnx", "opset": opset, "renamed": renamed}
