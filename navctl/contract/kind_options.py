"""What each step kind is told (its spec's `options`): one Pydantic model per kind, in a union keyed on
`kind` that StepSpec validates in the parent (building) and in the step process (reading).

A spec names its kind once, at its top level; the options carry it as a discriminator that is never
written (StepSpec passes it in), so spec.json holds exactly the options a kind's builder set.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, SerializerFunctionWrapHandler, Tag, model_serializer

from navctl.generation.settings import GenerationSettings
from navctl.recipe.models import Profiling, ShapeChoice

StepKind = Literal["samples", "export", "convert", "correctness", "profile", "verify", "select", "generation"]
# the process that profiles several runners side by side: a profile spec whose options name its members
SESSION_TAG = "profile-session"


class KindOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # only what the builder set reaches spec.json: the defaults are the step's to apply, and a
        # field added here with a default changes no existing spec (nor its fingerprint)
        data = handler(self)
        given = self.model_fields_set | set(self.model_extra or {})
        return {k: v for k, v in data.items() if k in given}


class RunnerOptions(KindOptions):
    runner: dict[str, Any] = Field(
        default_factory=dict, description="the recipe section of the step's runtime (registry.RUNTIMES[].options)"
    )


class Tolerance(BaseModel):
    atol: float
    rtol: float
    outputs: dict[str, list[float]] = Field(default_factory=dict, description="output -> [atol, rtol]")


class SamplesOptions(RunnerOptions):
    kind: Literal["samples"] = Field("samples", exclude=True)
    batching: bool = True
    batch_axis: int = 0
    input_names: list[str] | None = None
    output_names: list[str] | None = None
    input_dynamic_axes: dict[str, list[int]] = Field(default_factory=dict)
    probe_tolerance: Tolerance | None = Field(None, description="the batch probe's: the recipe's own tolerance")
    input_axes: dict[str, dict[int, dict[str, Any]]] = Field(
        default_factory=dict, description="input -> axis -> its declared range (recipe inputs[].axes)"
    )
    max_batch_size: int = 64
    cache_outputs: list[str] | None = Field(None, description="a decoder's cache outputs, where the recipe names them")


class Calibration(BaseModel):
    factory: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    samples: int = 100


class MakeOptions(RunnerOptions):
    """Export and convert: the format's recipe section (registry.FORMATS[].options, validated by the recipe's
    own model, so its keys come as they are), its precision, the batch limit and the calibration set."""

    model_config = ConfigDict(extra="allow")

    precision: str | None = None
    max_batch_size: int | None = None
    calibration: Calibration | None = None

    def setting(self, name: str, default: Any = None) -> Any:
        """A key of the format's recipe section."""
        return (self.model_extra or {}).get(name, default)


class ExportOptions(MakeOptions):
    kind: Literal["export"] = Field("export", exclude=True)


class ConvertOptions(MakeOptions):
    kind: Literal["convert"] = Field("convert", exclude=True)


class Gate(BaseModel):
    """What a reduced-precision candidate must keep of the source's outputs."""

    precision: str
    tolerances: dict[str, list[float] | None]
    min_cosine: float
    min_top1: float
    split: bool = Field(description="calibration took the first half of the samples: check the rest")
    describe: str


class CorrectnessOptions(RunnerOptions):
    kind: Literal["correctness"] = Field("correctness", exclude=True)
    tolerances: dict[str, list[float]] = Field(default_factory=dict, description="output -> [atol, rtol]")
    keep_outputs: bool = Field(False, description="keep the format's outputs for the verify step")
    gate: Gate | None = None
    padding_mask: str | None = Field("auto", description="the recipe's correctness.padding_mask")


class VerifyOptions(RunnerOptions):
    kind: Literal["verify"] = Field("verify", exclude=True)
    outputs_dir: str = Field(description="the correctness step's kept outputs")
    gate: Gate | None = None


class ProfileOptions(Profiling, RunnerOptions):
    """The recipe's `profiling` section itself (its defaults are the step's), with the batch limit and the
    shape the strategies compare at."""

    kind: Literal["profile"] = Field("profile", exclude=True)
    enabled: bool = Field(True, exclude=True)  # planning's business: a profile step is planned only when on
    max_batch_size: int = 64
    selection_shape: ShapeChoice = "typical"


class SessionOptions(KindOptions):
    kind: Literal["profile"] = Field("profile", exclude=True)
    members: list[str] = Field(description="the member profile steps' spec.json, relative to the workspace")
    reference: str | None = Field(None, description="the source runner's result key, when among the members")
    member_timeout_s: float | None = Field(
        None, description="a member's call (load, warm-up, window) answered later than this ends that member only"
    )


class GenerationOptions(GenerationSettings, KindOptions):
    """A decoder's generation steps (navctl/generation/plan_ext.py): the recipe's `generation` section
    itself, the logits tolerance, and what each step makes, checks or measures."""

    kind: Literal["generation"] = Field("generation", exclude=True)
    atol: float = 1e-4
    rtol: float = 1e-3
    decode_artifact: str | None = Field(None, description="the decode-step artifact the step makes or runs")
    parent_artifact: str | None = Field(None, description="the decode-step artifact it is converted from")
    precision: str = "fp32"
    members: dict[str, str | None] = Field(
        default_factory=dict, description="profile: format@runner -> its decode-step artifact (None: the source)"
    )
    reference: str | None = Field(None, description="profile: the source's key, the ratios' baseline")
    checks: dict[str, str] = Field(
        default_factory=dict, description="profile: format@runner -> its check's result.json (measured if it passed)"
    )
    profiling: dict[str, Any] = Field(default_factory=dict, description="profile: the recipe's measurement settings")


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        kind, session = value.get("kind"), "members" in value
    else:
        kind, session = getattr(value, "kind", None), isinstance(value, SessionOptions)
    return SESSION_TAG if kind == "profile" and session else kind


AnyOptions = Annotated[
    Annotated[SamplesOptions, Tag("samples")]
    | Annotated[ExportOptions, Tag("export")]
    | Annotated[ConvertOptions, Tag("convert")]
    | Annotated[CorrectnessOptions, Tag("correctness")]
    | Annotated[VerifyOptions, Tag("verify")]
    | Annotated[ProfileOptions, Tag("profile")]
    | Annotated[SessionOptions, Tag(SESSION_TAG)]
    | Annotated[GenerationOptions, Tag("generation")],
    Discriminator(_tag),
]


def keyed(value: Any, kind: str, what: str) -> Any:
    """`value` (options or metrics: a dict or a model) with its discriminator set to the record's `kind`;
    refuses one that names another kind. {} and None stay as they are (no metrics, or the defaults)."""
    if isinstance(value, dict):
        own = value.get("kind", kind)
        if own != kind:
            raise ValueError(f"{what} of kind '{own}' in a '{kind}' record")
        return {**value, "kind": kind}
    own = getattr(value, "kind", kind)
    if value is not None and own != kind:
        raise ValueError(f"{what} of kind '{own}' ({type(value).__name__}) in a '{kind}' record")
    return value
