"""openvino-int8: NNCF post-training quantization of the OpenVINO IR, on calibration samples only.

With `quantization.openvino.max_drop`, `nncf.quantize_with_accuracy_control` reverts the layers that cost
the most accuracy until the agreement with the full-precision IR, measured on the calibration samples
(never on the checked ones), drops by at most max_drop. Agreement: top-1 agreement for outputs that look
like class scores, cosine similarity otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from navctl.steps.calibration import calibration_feeds
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.common import root_cause
from navctl.steps.similarity import agreement


def int8(ctx: StepContext) -> dict[str, Any]:
    import nncf
    import openvino as ov

    settings = ctx.spec.options.setting("openvino", {})
    io = ctx.io()
    feeds, calibration = calibration_feeds(ctx, io)
    core = ov.Core()
    model = core.read_model(str(ctx.path(ctx.spec.source_artifact)))
    dataset = nncf.Dataset(feeds)
    common: dict[str, Any] = {
        "preset": nncf.QuantizationPreset(settings.get("preset", "performance")),
        "subset_size": min(int(settings.get("subset_size", 300)), len(feeds)),
        "model_type": nncf.ModelType(settings["model_type"]) if settings.get("model_type") else None,
    }
    ctx.log(f"calibrating on {len(feeds)} samples ({calibration['source']})")
    try:
        if settings.get("max_drop") is not None:
            full = core.compile_model(model, "CPU")
            # NNCF validates any subset of the items (one first, to learn the mode): key by the item itself
            reference = {id(feed): _first_output(full, feed) for feed in feeds}

            def validate(compiled: Any, data: Any) -> tuple[float, list[float]]:
                scores = [agreement(_first_output(compiled, feed), reference[id(feed)]) for feed in data]
                return float(np.mean(scores)), scores

            quantized = nncf.quantize_with_accuracy_control(
                model, dataset, dataset, validate, max_drop=float(settings["max_drop"]), **common
            )
        else:
            quantized = nncf.quantize(model, dataset, **common)
    except Exception as exc:
        raise StepFailed(f"NNCF could not quantize the model: {root_cause(exc)}") from exc
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, str(target), compress_to_fp16=False)
    ctx.add_artifact(ctx.spec.artifact)
    ctx.add_artifact(ctx.spec.artifact.removesuffix(".xml") + ".bin")
    control = f", accuracy control (max_drop {settings['max_drop']:g})" if settings.get("max_drop") is not None else ""
    ctx.note = f"int8{control}, calibrated on {calibration['samples']} samples ({calibration['source']})"
    return {
        "calibration": calibration,
        "nncf": nncf.__version__,
        "openvino": ov.__version__,
        **{k: str(v) for k, v in common.items() if v is not None},
    }


def _first_output(compiled: Any, feed: dict[str, np.ndarray]) -> np.ndarray:
    return np.asarray(next(iter(compiled(feed).values())))
