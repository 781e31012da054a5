"""OpenVINO IR (model.xml + model.bin) converted from the ONNX format, batch axis kept dynamic."""

from __future__ import annotations

from typing import Any

from navctl.steps.child import StepContext, StepFailed


def from_onnx(ctx: StepContext) -> dict[str, Any]:
    import openvino as ov

    io = ctx.io()
    model = ov.convert_model(str(ctx.path(ctx.spec.source_artifact)))
    if io.batching:
        # An ONNX model exported with a fixed batch would pin the IR too: free the batch axis.
        shapes = {}
        for port, meta in zip(model.inputs, io.inputs, strict=False):
            shape = port.get_partial_shape()
            if shape.rank.is_static and io.batch_axis < shape.rank.get_length() and shape[io.batch_axis].is_static:
                dims = [ov.Dimension(-1) if i == io.batch_axis else d for i, d in enumerate(shape)]
                shapes[port.get_any_name()] = ov.PartialShape(dims)
                ctx.log(f"input {meta.name}: batch axis made dynamic for OpenVINO")
        if shapes:
            model.reshape(shapes)
    names = [o.get_any_name() for o in model.outputs]
    if len(names) != len(io.outputs):
        raise StepFailed(f"the OpenVINO model has {len(names)} outputs {names}; the source has {io.output_names}")
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(target), compress_to_fp16=False)
    ctx.add_artifact(ctx.spec.artifact)
    ctx.add_artifact(ctx.spec.artifact.removesuffix(".xml") + ".bin")
    return {"openvino": ov.__version__, "inputs": [str(p.get_partial_shape()) for p in model.inputs]}
