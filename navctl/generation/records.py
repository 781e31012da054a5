"""status.yaml's generation records (per format@runner, under `results.<key>.generation`): the greedy
check against the source and the prefill/decode figures. Pure pydantic: status.py imports it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")  # extend, never rename: older navctl reads newer records


class Divergence(_Model):
    step: int = Field(description="the generation step (0 = the prefill's token)")
    prompt: int = Field(description="the prompt batch it happened in")
    row: int
    expected: int = Field(description="the source's token (-1: the source had stopped)")
    actual: int = Field(description="this format's token")


class GenerationCheck(_Model):
    passed: bool
    tokens_match: bool
    prompts: int = Field(description="prompt batches decoded (the dataloader's)")
    new_tokens: int = Field(description="tokens decoded per prompt")
    first_divergence: Divergence | None = None
    logits_max_abs: list[float] = Field(
        default_factory=list, description="per step, the largest logits difference from the source over every prompt"
    )
    atol: float
    rtol: float
    precision: str = "fp32"
    gate: str = Field("", description="what decided: tokens and logits (full precision) or tokens only (reduced)")
    problem: str = ""


class PrefillPoint(_Model):
    prompt_length: int
    batch_size: int = 1
    ttft_ms: float = Field(description="time to the first token: one prefill step over the prompt, median")
    ttft_p90_ms: float
    stable: bool
    windows: int


class DecodePoint(_Model):
    batch_size: int
    prompt_length: int
    decode_p50_ms: float = Field(description="per-token decode step latency, median")
    decode_p90_ms: float
    decode_p99_ms: float
    tokens_per_s: float = Field(description="new tokens per second over the decode steps, all rows counted")
    stable: bool
    steps: int = Field(description="decode steps timed")


class GenerationResult(_Model):
    check: GenerationCheck | None = None
    prefill: list[PrefillPoint] = Field(default_factory=list)
    decode: list[DecodePoint] = Field(default_factory=list)
    side_by_side: bool = Field(False, description="measured in rounds with the other runners, rotating who goes first")
    vs_source: dict[str, float] = Field(
        default_factory=dict, description="same-round ratios to the source: ttft (lower is better) and tokens_per_s"
    )

    @property
    def ttft_ms(self) -> dict[int, float]:
        return {p.prompt_length: p.ttft_ms for p in self.prefill}

    @property
    def tokens_per_s(self) -> dict[int, float]:
        return {p.batch_size: p.tokens_per_s for p in self.decode}
