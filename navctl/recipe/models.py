"""Pydantic models for every recipe field. The JSON Schema in schemas/ is generated from these.

The shared value types live in navctl.recipe.fields, the format and runtime option sections in
navctl.recipe.options.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from navctl.generation.settings import GenerationSettings
from navctl.plan.keys import split_key
from navctl.profiling.rules import MIN_WINDOW_REQUESTS, SLOW_WINDOW_REQUESTS, SLOW_WINDOW_S
from navctl.recipe.fields import NAME_RE, Duration, Entrypoint, MemorySize, StrictModel, sorted_unique
from navctl.recipe.options import (
    OnnxOptions,
    OnnxRuntimeOptions,
    OpenVinoOptions,
    Quantization,
    TensorRTOptions,
    TorchOptions,
)


class ModelSource(StrictModel):
    """Where the model comes from: code that builds it, or an existing file (ONNX, SavedModel)."""

    entrypoint: Entrypoint | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for the entrypoint")
    path: str | None = Field(None, description="an existing model file: .onnx, or a SavedModel folder")


class Dataloader(StrictModel):
    """A callable returning an iterable of samples; each sample is one batch."""

    factory: Entrypoint
    kwargs: dict[str, Any] = Field(default_factory=dict)


class AxisBounds(StrictModel):
    """A dynamic axis's range beyond what the samples show (e.g. a maximum sequence length), and its name."""

    min: PositiveInt | None = Field(None, description="the smallest size to serve (default: the samples' smallest)")
    max: PositiveInt | None = Field(None, description="the largest size to serve (default: the samples' largest)")
    symbol: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        None, description="its name in exported formats; axes given one symbol are always the same size"
    )

    @model_validator(mode="after")
    def _ordered(self) -> AxisBounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class TensorSpec(StrictModel):
    """Names (and optionally dynamic axes) for the model's inputs or outputs, in order."""

    name: str
    dynamic_axes: list[NonNegativeInt] | None = Field(
        None, description="axes that vary at run time besides the batch axis"
    )
    axes: dict[NonNegativeInt, AxisBounds] | None = Field(
        None, description="inputs only: axis -> its range and symbol (the axis is dynamic), e.g. {1: {max: 128}}"
    )


class Batching(StrictModel):
    enabled: bool = True
    batch_axis: NonNegativeInt = 0
    max_batch_size: PositiveInt = 64


class ToleranceOverride(StrictModel):
    atol: NonNegativeFloat | None = None
    rtol: NonNegativeFloat | None = None


class FormatGate(StrictModel):
    """What a reduced-precision format (or runner) must keep of the source's outputs to be selected.

    Elementwise tolerances apply only when given here; the similarity floors always apply. A format that
    misses its gate is `rejected`, not failed: it is shown with its figures and never selected."""

    atol: NonNegativeFloat | None = None
    rtol: NonNegativeFloat | None = None
    outputs: dict[str, ToleranceOverride] = Field(default_factory=dict, description="per-output overrides")
    min_cosine: Annotated[float, Field(ge=-1.0, le=1.0)] = Field(
        0.99, description="cosine similarity with the source's output, per output over every checked sample"
    )
    min_top1: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.99,
        description="top-1 agreement with the source for outputs that look like class scores (2-D, last axis > 1)",
    )


class Correctness(StrictModel):
    """Elementwise `|out - ref| <= atol + rtol * |ref|`, per output, over every sample."""

    atol: NonNegativeFloat = 1.0e-4
    rtol: NonNegativeFloat = 1.0e-3
    outputs: dict[str, ToleranceOverride] = Field(default_factory=dict, description="per-output overrides")
    formats: dict[str, FormatGate] = Field(
        default_factory=dict,
        description="gates of reduced-precision formats (onnx-int8, openvino-int8, trt-fp16, ...); a format "
        "not listed gets the default gate (cosine >= 0.99, top-1 agreement >= 0.99)",
    )
    padding_mask: str | None = Field(
        "auto",
        description="the input marking padding with 0 (1 a real token), whose positions no output is compared "
        "at (a padded position's answer is never used, and runtimes compute it differently); auto: the 2-D input "
        "named *attention_mask, when each row's zeros are one block at its start or end; null: compare everything",
    )

    def for_output(self, name: str) -> tuple[float, float]:
        override = self.outputs.get(name)
        atol = override.atol if override and override.atol is not None else self.atol
        rtol = override.rtol if override and override.rtol is not None else self.rtol
        return atol, rtol

    def gate(self, fmt: str) -> FormatGate:
        return self.formats.get(fmt) or FormatGate()

    def gate_for_output(self, fmt: str, name: str) -> tuple[float, float] | None:
        """The elementwise tolerance of a reduced-precision format's output; None: no elementwise check."""
        gate = self.gate(fmt)
        override = gate.outputs.get(name)
        atol = override.atol if override and override.atol is not None else gate.atol
        rtol = override.rtol if override and override.rtol is not None else gate.rtol
        if atol is None and rtol is None:
            return None
        return atol or 0.0, rtol or 0.0


ShapeChoice = Annotated[
    Literal["typical", "min", "max"] | dict[str, list[PositiveInt]],
    Field(description="typical, min, max (from the shape ranges) or {input: dims} (the batch axis is swept)"),
]


class Profiling(StrictModel):
    """Measurement settings; the defaults stop as soon as the windows agree."""

    enabled: bool = True
    batch_sizes: Literal["auto"] | list[PositiveInt] = "auto"
    warmup_s: NonNegativeFloat = Field(0.1, description="time-based warm-up before the first batch size")
    window_ms: PositiveFloat = Field(
        25.0,
        description=f"length of one measurement window (at least {MIN_WINDOW_REQUESTS} requests, or "
        f"{SLOW_WINDOW_REQUESTS} once it has run {SLOW_WINDOW_S:g} s)",
    )
    windows: PositiveInt = Field(3, description="how many consecutive windows must agree")
    stability_pct: PositiveFloat = Field(10.0, description="how far the windows may differ, in percent")
    max_trials: PositiveInt = Field(10, description="windows measured at most per batch size")
    throughput_gain_pct: NonNegativeFloat = Field(
        5.0,
        description="auto sweep: a size must gain this much throughput, or its windows' spread if larger, to count",
    )
    patience: NonNegativeInt = Field(
        2, description="auto sweep: this many sizes in a row missing the gain end it (2: the second; 0, 1: the first)"
    )
    predict_saturation: bool = Field(
        True,
        description="auto sweep with a patience over 2: stop at the second miss when latency grows linearly and no "
        "larger size can gain",
    )
    shapes: Literal["auto", "samples"] | list[ShapeChoice] = Field(
        "auto",
        description="the input shapes profiled besides the batch size: auto = the typical shape, the smallest "
        "and the largest of the ranges; samples = the typical shape and every distinct shape of the samples; or a "
        "list of typical, min, max and {input: dims} (the batch axis is swept). The first shape (selection.shape) "
        "gets the whole batch sweep, the others its smallest batch size and each runner's best",
    )
    tune: bool = Field(False, description="also try each runner's alternative session settings; keep the best")
    tune_budget_s: PositiveFloat = Field(30.0, description="time a runner's tuning may take before it stops")

    @field_validator("batch_sizes")
    @classmethod
    def _sorted_unique(cls, value: Any) -> Any:
        return sorted_unique(value, "give at least one batch size, or 'auto'")

    @field_validator("shapes")
    @classmethod
    def _some_shape(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("give at least one shape, or 'auto'")
        return value


StrategyName = Literal[
    "max-throughput",
    "min-latency",
    "max-throughput-within-latency-budget",
    "min-time-to-first-token",  # decoders (navctl/generation/selection.py)
    "max-tokens-per-second",
]


class Selection(StrictModel):
    strategies: list[StrategyName] = Field(
        default_factory=lambda: ["max-throughput", "min-latency"],
        description="strategies to apply; the budget strategy needs latency_budget_ms",
    )
    latency_budget_ms: PositiveFloat | None = None
    latency_percentile: Literal["p50", "p90", "p95", "p99"] = "p95"
    pin: str | None = Field(
        None, description="'format@runner' to select regardless of the figures: a format the targets make"
    )
    shape: ShapeChoice = Field(
        "typical", description="the profiled shape the strategies compare at: typical, min, max or {input: dims}"
    )

    @field_validator("pin")
    @classmethod
    def _pin_shape(cls, value: str | None) -> str | None:
        if value is not None:
            split_key(value)  # refuses what is not 'format@runner'; the names are a cross check (pin)
        return value


class Verify(StrictModel):
    function: Entrypoint
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Recipe(StrictModel):
    """A navctl recipe: which model, which samples, which formats, how to judge and measure them."""

    name: Annotated[str, Field(pattern=NAME_RE.pattern, description="used for the package name")]
    framework: Literal["torch", "tensorflow", "jax", "onnx"]
    model: ModelSource
    dataloader: Dataloader | None = Field(None, description="required except for framework onnx")
    inputs: list[TensorSpec] | None = None
    outputs: list[TensorSpec] | None = None
    targets: list[str] = Field(min_length=1, description="formats or groups (torchscript, tensorrt)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: PositiveInt | None = Field(None, description="CPU threads for every runner (default: all cores)")
    batching: Batching = Field(default_factory=Batching)
    correctness: Correctness = Field(default_factory=Correctness)
    profiling: Profiling = Field(default_factory=Profiling)
    selection: Selection = Field(default_factory=Selection)
    generation: GenerationSettings = Field(
        default_factory=GenerationSettings, description="decoders only: the generation check and measurement"
    )
    verify: Verify | None = None
    runtime_files: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="files your code reads at run time that no import names (weights for torch.load, a "
        "vocabulary, a calibration set): paths or globs relative to the recipe (weights/*.pt, data/**/*.json; a "
        "folder means every file in it). Hashed into the step cache with your code, and shipped to Ray workers",
    )
    step_timeout: Duration = 1800.0
    step_memory_limit: MemorySize | None = Field(
        None, description="address-space limit (RLIMIT_AS) of each step process; growth past it fails the step"
    )
    seed: int = 0
    workspace: str = "navigator_workspace"
    package: str | None = Field(None, description="defaults to <name>.nav beside the recipe")
    package_formats: Literal["all", "selected"] = Field(
        "all",
        description="'selected': the package holds only the formats the selection chose (plus samples, logs "
        "and status), for deployment; 'all' keeps every format, for `navctl diff` and `triton --format`",
    )
    onnx: OnnxOptions = Field(default_factory=OnnxOptions)
    onnxruntime: OnnxRuntimeOptions = Field(default_factory=OnnxRuntimeOptions)
    tensorrt: TensorRTOptions = Field(default_factory=TensorRTOptions)
    openvino: OpenVinoOptions = Field(default_factory=OpenVinoOptions)
    torch: TorchOptions = Field(default_factory=TorchOptions)
    quantization: Quantization = Field(default_factory=Quantization)
