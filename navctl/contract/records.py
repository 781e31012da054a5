"""What a run records about tensors and artifacts: read and written by the parent, the steps, the runners
and the package alike (status.yaml holds them; model_io.json and result.json too)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer


class _Model(BaseModel):
    # as navctl.status's models: unknown keys kept (a newer writer), schemas built on first use
    model_config = ConfigDict(extra="allow", defer_build=True)


class BatchProbe(_Model):
    """The evidence behind an output's per-sample verdict (navctl/steps/batch_probe.py)."""

    max_abs: float | None = Field(
        None, description="the largest difference between the merged answer, split back, and each part's own"
    )
    shapes: dict[str, list[int] | None] = Field(
        default_factory=dict, description="the output's shape for the merged batch and each part alone (None: absent)"
    )
    reason: str = Field("", description="why the output is not per sample ('' when it is)")
class AxisRange(_Model):
    """The sizes one dynamic axis takes: what the samples showed, widened by what the recipe declared."""

    axis: int
    symbol: str = Field(description="its name in exported formats; axes always of one size share one")
    min: int
    typical: int = Field(description="the most common size among the samples (the smaller on a tie)")
    max: int
    samples_min: int = Field(description="the smallest size among the samples")
    samples_max: int = Field(description="the largest size among the samples")


class TensorMeta(_Model):
    name: str
    dtype: str
    shape: list[int] = Field(description="-1 marks a dynamic axis")
    per_sample: bool | None = Field(
        None,
        description="outputs: the answer for samples merged along the batch axis splits back into each one's own "
        "(None: not probed, batching off)",
    )
    probe: BatchProbe | None = Field(None, description="outputs: what the batch probe saw")
    axes: list[AxisRange] = Field(default_factory=list, description="the range of each dynamic axis")

    @model_serializer(mode="wrap")
    def _unprobed_left_out(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Inputs, and outputs of a model run without batching, carry no probe; a tensor without a dynamic
        axis has no ranges: no keys rather than nulls or empty lists."""
        data = handler(self)
        for key in ("per_sample", "probe"):
            if data.get(key) is None:
                data.pop(key, None)
        if data.get("axes") == []:
            data.pop("axes")
        return data


class Artifact(_Model):
    path: str
    sha256: str
