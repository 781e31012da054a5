"""What each step kind reports (its result's `metrics`): one Pydantic model per kind, in a union keyed on
`kind` that StepResult validates in the step process (writing) and in the parent (reading).

The figures are status.yaml's own records (navctl.status), so what a step reports is what status keeps.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from navctl.contract.decoder import DecoderInfo
from navctl.contract.kind_options import SESSION_TAG
from navctl.contract.records import TensorMeta
from navctl.records.results import CorrectnessResult, ProfileRecord, ProfilingInfo, VerifyResult
from navctl.status import BatchingInfo, CalibrationInfo


class KindMetrics(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SamplesMetrics(KindMetrics):
    kind: Literal["samples"] = Field("samples", exclude=True)
    samples: int | None = Field(None, description="how many samples the dataloader gave")
    call: str | None = Field(None, description="how the model takes a sample: keyword, positional, single")
    inputs: list[TensorMeta] = Field(default_factory=list)
    outputs: list[TensorMeta] = Field(default_factory=list)
    batching: BatchingInfo | None = None
    decoder: DecoderInfo | None = Field(None, description="the model is a causal LM with a key/value cache")


class MakeMetrics(KindMetrics):
    """Export and convert: who made the file and what it warned, then the tool's own figures (versions,
    opset, renamed outputs, TensorRT's tries), kept as the tool gives them."""

    model_config = ConfigDict(extra="allow")

    exporter: str | None = None
    warnings: list[str] = Field(default_factory=list)
    calibration: CalibrationInfo | None = None


class ExportMetrics(MakeMetrics):
    kind: Literal["export"] = Field("export", exclude=True)


class ConvertMetrics(MakeMetrics):
    kind: Literal["convert"] = Field("convert", exclude=True)


class CorrectnessMetrics(KindMetrics):
    kind: Literal["correctness"] = Field("correctness", exclude=True)
    correctness: CorrectnessResult | None = None


class VerifyMetrics(KindMetrics):
    kind: Literal["verify"] = Field("verify", exclude=True)
    verify: VerifyResult | None = None


class ProfileMetrics(KindMetrics):
    kind: Literal["profile"] = Field("profile", exclude=True)
    profile: list[ProfileRecord] = Field(default_factory=list, description="at the selection shape")
    profile_shapes: list[ProfileRecord] = Field(default_factory=list, description="at the other shapes")
    profile_stopped: str = ""
    tuning: list[dict[str, Any]] = Field(default_factory=list, description="every setting tried (profiling.tune)")
    cores: int | None = Field(None, description="measured alone: the cores the step could run on")
    other_cores: float | None = Field(
        None, description="measured alone: the cores other processes kept busy meanwhile, on average"
    )


class SessionMetrics(KindMetrics):
    """A side-by-side profiling session's own result: how the session went (its members wrote theirs)."""

    kind: Literal["profile"] = Field("profile", exclude=True)
    session: ProfilingInfo


class GenerationMetrics(KindMetrics):
    """A generation step's figures by format@runner (the check one key, the side-by-side measurement every
    key it measured): only the fields it sends, which replace those of the same name in status."""

    kind: Literal["generation"] = Field("generation", exclude=True)
    generation: dict[str, dict[str, Any]] = Field(default_factory=dict)
    exporter: str | None = Field(None, description="a decode-step export: the tool that made the file")
    warnings: list[str] = Field(default_factory=list, description="what that tool warned")
    cores: int | None = Field(None, description="the side-by-side measurement: the cores it could run on")
    other_cores: float | None = Field(
        None, description="the side-by-side measurement: the cores other processes kept busy meanwhile, on average"
    )


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind, session = value.get("kind"), "session" in value
    else:
        kind, session = getattr(value, "kind", None), isinstance(value, SessionMetrics)
    return SESSION_TAG if kind == "profile" and session else kind


AnyMetrics = Annotated[
    Annotated[SamplesMetrics, Tag("samples")]
    | Annotated[ExportMetrics, Tag("export")]
    | Annotated[ConvertMetrics, Tag("convert")]
    | Annotated[CorrectnessMetrics, Tag("correctness")]
    | Annotated[VerifyMetrics, Tag("verify")]
    | Annotated[ProfileMetrics, Tag("profile")]
    | Annotated[SessionMetrics, Tag(SESSION_TAG)]
    | Annotated[GenerationMetrics, Tag("generation")],
    Discriminator(_tag),
]
