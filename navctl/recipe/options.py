"""The recipe sections of formats' and runtimes' own options (the registry's `options` names them) and of
quantization."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from navctl.recipe.fields import Entrypoint, StrictModel


class OnnxOptions(StrictModel):
    opset: Annotated[int, Field(ge=7, le=25)] = 18
    exporter: Literal["auto", "dynamo", "torchscript"] = Field(
        "auto",
        description="auto tries the TorchScript-based exporter first (much faster) unless its tracer warns that "
        "the trace would not hold for other inputs, then the dynamo exporter; a named exporter runs alone and "
        "its warnings are recorded in status, not raised (correctness decides)",
    )


class OnnxRuntimeOptions(StrictModel):
    graph_optimization_level: Literal["disable", "basic", "extended", "all"] = "all"
    execution_mode: Literal["sequential", "parallel"] = "sequential"
    inter_op_threads: PositiveInt | None = None


class ShapeProfile(StrictModel):
    min: list[PositiveInt]
    opt: list[PositiveInt]
    max: list[PositiveInt]


class TensorRTOptions(StrictModel):
    precisions: list[Literal["fp32", "tf32", "fp16", "bf16", "int8"]] = Field(default_factory=lambda: ["fp16"])
    workspace_mb: PositiveInt = 4096
    max_batch_size: PositiveInt | None = Field(None, description="defaults to batching.max_batch_size")
    shape_profiles: dict[str, ShapeProfile] | None = Field(None, description="input name -> min/opt/max")
    timing_cache: bool = True
    retry_smaller_batch: bool = True

    @field_validator("precisions")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one precision")
        return list(dict.fromkeys(value))


class OpenVinoOptions(StrictModel):
    hint: Literal["latency", "throughput"] = "latency"
    precision: Literal["f32", "bf16"] = "f32"
    device: str = "CPU"


class Calibration(StrictModel):
    """A dataloader-like factory of calibration samples (same sample types as the dataloader's)."""

    factory: Entrypoint
    kwargs: dict[str, Any] = Field(default_factory=dict)


class OnnxQuantization(StrictModel):
    mode: Literal["static", "dynamic"] = Field(
        "static",
        description="static: weights and activations (QDQ, calibrated); dynamic: weights only, activations "
        "quantized at run time (no calibration; the usual choice for transformer encoders on CPU)",
    )
    method: Literal["minmax", "entropy", "percentile"] = "minmax"
    per_channel: bool = True
    reduce_range: Literal["auto"] | bool = Field(
        "auto",
        description="7-bit weights: auto = on an x86 CPU without VNNI, where ONNX Runtime's u8 x s8 kernels "
        "saturate with 8-bit weights (its own advice); true or false to choose",
    )


class OpenVinoQuantization(StrictModel):
    preset: Literal["performance", "mixed"] = "performance"
    model_type: Literal["transformer"] | None = None
    subset_size: PositiveInt = Field(300, description="calibration samples NNCF uses at most")
    max_drop: PositiveFloat | None = Field(
        None,
        description="use nncf.quantize_with_accuracy_control: layers go back to full precision until the "
        "agreement with the source on the calibration samples drops by at most this much",
    )


class Quantization(StrictModel):
    """INT8 formats: where calibration samples come from, and each quantizer's settings."""

    calibration: Calibration | None = Field(
        None,
        description="without it, the dataloader's samples are split: the first half calibrates, the rest "
        "are checked (at least 2 samples)",
    )
    samples: PositiveInt = Field(100, description="calibration samples used at most")
    onnx: OnnxQuantization = Field(default_factory=OnnxQuantization)
    openvino: OpenVinoQuantization = Field(default_factory=OpenVinoQuantization)

    def skips_calibration(self, fmt: str) -> bool:
        """Dynamic ONNX quantization reads no calibration samples."""
        return fmt == "onnx-int8" and self.onnx.mode == "dynamic"


class TorchOptions(StrictModel):
    autocast: Literal["none", "fp16", "bf16"] = "none"
    compile_mode: Literal["default", "reduce-overhead", "max-autotune"] = "default"
