"""The recipe's `generation` section: how decoders are checked and measured. It applies only to a model
the samples step recognized as a decoder (navctl/contract/decoder.py); other models ignore it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator

from navctl.recipe.fields import sorted_unique


class GenerationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="plan the decode-step artifacts, the generation check and measurement")
    max_new_tokens: PositiveInt = Field(16, description="tokens greedily decoded per prompt, checked and measured")
    prompt_lengths: list[PositiveInt] = Field(
        default_factory=lambda: [16, 64],
        description="prompt lengths whose time to the first token is measured (the dataloader's prompts, tiled)",
    )
    batch_sizes: list[PositiveInt] = Field(
        default_factory=lambda: [1, 4],
        description="batch sizes whose decode latency and tokens per second are measured",
    )
    cache_outputs: list[str] | None = Field(
        None,
        description="the outputs that are the key/value cache, layer by layer, key then value, when their names "
        "are not ones navctl recognizes (cache_<layer>_<0|1>, past_key_values_<layer>_<0|1>, present.<layer>.key)",
    )
    max_rounds: PositiveInt = Field(
        8, description="side-by-side measurement rounds at most per point (fewer once every runner is stable)"
    )

    @field_validator("prompt_lengths", "batch_sizes")
    @classmethod
    def _sorted_unique(cls, value: Any) -> Any:
        return sorted_unique(value, "list at least one size")
