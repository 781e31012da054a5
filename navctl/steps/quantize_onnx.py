"""onnx-int8 and onnx-fp16: ONNX Runtime's quantizer and onnxconverter-common's float16 converter.

int8 follows ONNX Runtime's recipe: `quant_pre_process` (shape inference, graph clean-up) first, then
QDQ static quantization calibrated on samples the check never sees (see `calibration`), per-channel
weights; `quantization.onnx.mode: dynamic` quantizes weights only and needs no calibration.
"""

from __future__ import annotations

import platform
import tempfile
from pathlib import Path
from typing import Any

from navctl.steps.calibration import calibration_feeds
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.common import root_cause


def int8(ctx: StepContext) -> dict[str, Any]:
    import onnxruntime
    from onnxruntime import quantization as q

    settings = ctx.spec.options.setting("onnx", {})
    mode = settings.get("mode", "static")
    source = ctx.path(ctx.spec.source_artifact)
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    reduce_range = _reduce_range(settings.get("reduce_range", "auto"), ctx.spec.device)
    metrics: dict[str, Any] = {"mode": mode, "onnxruntime": onnxruntime.__version__, "reduce_range": reduce_range}
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        model = _pre_processed(source, Path(scratch) / "pre.onnx", ctx)
        try:
            if mode == "dynamic":
                q.quantize_dynamic(
                    model,
                    target,
                    per_channel=settings.get("per_channel", True),
                    reduce_range=reduce_range,
                    weight_type=q.QuantType.QInt8,
                )
            else:
                io = ctx.io()
                feeds, metrics["calibration"] = calibration_feeds(ctx, io)
                method = settings.get("method", "minmax")
                ctx.log(f"calibrating on {len(feeds)} samples ({metrics['calibration']['source']}), method {method}")
                # x86 CPUs run u8 activations x s8 weights fastest; GPUs (TensorRT EP) want both signed
                activations = q.QuantType.QUInt8 if ctx.spec.device == "cpu" else q.QuantType.QInt8
                q.quantize_static(
                    model,
                    target,
                    _Reader(feeds),
                    quant_format=q.QuantFormat.QDQ,
                    per_channel=settings.get("per_channel", True),
                    reduce_range=reduce_range,
                    activation_type=activations,
                    weight_type=q.QuantType.QInt8,
                    calibrate_method=_METHODS[method](q.CalibrationMethod),
                    extra_options={"ActivationSymmetric": ctx.spec.device != "cpu"},
                )
                metrics["method"] = method
        except StepFailed:
            raise
        except Exception as exc:
            raise StepFailed(f"ONNX Runtime could not quantize the model: {root_cause(exc)}") from exc
    ctx.add_artifact(ctx.spec.artifact)
    ctx.note = f"int8 {mode}" + (
        f", calibrated on {metrics['calibration']['samples']} samples ({metrics['calibration']['source']})"
        if "calibration" in metrics
        else ""
    )
    return metrics


def _reduce_range(setting: Any, device: str) -> bool:
    """7-bit weights where 8-bit ones lose accuracy: ONNX Runtime's u8 x s8 kernels on an x86 CPU without
    VNNI add pairs of products in 16 bits, which 8-bit weights can overflow (its documentation advises
    reduce_range there). An AMD EPYC without VNNI rejected a dynamic INT8 classifier at cosine 0.94 that
    a VNNI CPU passed at 0.9999."""
    if isinstance(setting, bool):
        return setting
    if device != "cpu" or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "vnni" not in flags


_METHODS = {
    "minmax": lambda m: m.MinMax,
    "entropy": lambda m: m.Entropy,
    "percentile": lambda m: m.Percentile,
}


def _pre_processed(source: Path, scratch: Path, ctx: StepContext) -> Path:
    """ORT's recommended pre-processing; a model its symbolic shape inference cannot handle is quantized as is."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(source), str(scratch), skip_symbolic_shape=False)
        return scratch
    except Exception as exc:  # noqa: BLE001 - optional step: say so and go on without it
        ctx.log(f"quant_pre_process skipped: {root_cause(exc)}")
        return source


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over the calibration samples."""

    def __init__(self, feeds: list[dict[str, Any]]) -> None:
        self.feeds = feeds
        self.next = 0

    def get_next(self) -> dict[str, Any] | None:
        if self.next >= len(self.feeds):
            return None
        self.next += 1
        return self.feeds[self.next - 1]

    def rewind(self) -> None:
        self.next = 0


def fp16(ctx: StepContext) -> dict[str, Any]:
    """float16 weights and compute; inputs and outputs stay float32, so callers and checks see no change."""
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(ctx.path(ctx.spec.source_artifact)))
    try:
        converted = float16.convert_float_to_float16(model, keep_io_types=True)
    except Exception as exc:
        raise StepFailed(f"onnxconverter-common could not convert the model to float16: {root_cause(exc)}") from exc
    target = ctx.path(ctx.spec.artifact)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(converted, str(target))
    ctx.add_artifact(ctx.spec.artifact)
    return {"precision": "fp16"}
