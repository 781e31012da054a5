"""The ONNX format of an ONNX-file recipe: the user's model, copied in (with any external data)."""

from __future__ import annotations

from typing import Any

from navctl.steps.child import StepContext


def copy_onnx(ctx: StepContext) -> dict[str, Any]:
    import onnx

    source = ctx.spec.model.path
    model = onnx.load(source)  # pulls in external data stored beside the file
    onnx.checker.check_model(model)
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    large = model.ByteSize() > 1_800_000_000
    onnx.save(model, str(target), save_as_external_data=large, location="model.onnx.data" if large else None)
    ctx.add_artifact(ctx.spec.artifact)
    if large:
        ctx.add_artifact(ctx.spec.artifact + ".data")
    return {"opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)}
