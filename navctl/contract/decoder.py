"""What makes a model a decoder (a causal LM with a key/value cache), found by the samples step from
the names and shapes of its inputs and outputs, without recipe keys: token ids in, a cache out.

The cache is recognized in the names navctl's output flattening gives it: a transformers `Cache` object
(DynamicCache) flattens to `cache_<layer>_<0 key|1 value>` (transformers 5) and the legacy tuple to
`past_key_values_<layer>_<0|1>`; a decode-step model's own `present.<layer>.key|value` counts too.
Pure (pydantic only): the parent reads it from model_io.json and status.yaml."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from navctl.contract.records import TensorMeta

_CACHE = re.compile(r"^(?:cache|past_key_values)_(\d+)_([01])$|^present\.(\d+)\.(key|value)$")
TOKEN_INPUT = "input_ids"


class DecoderInfo(BaseModel):
    """A causal LM's cache layout and the names its generation steps use."""

    logits: str = Field(description="the output holding the next-token logits [batch, sequence, vocab]")
    input_ids: str = TOKEN_INPUT
    attention_mask: str | None = Field(None, description="the mask input, when the model takes one")
    cache_outputs: list[str] = Field(description="the source model's cache outputs, layer by layer, key then value")
    layers: int
    heads: int = Field(description="key/value heads (fewer than the attention heads under grouped-query attention)")
    head_dim: int
    dtype: str
    vocab: int


def _part(match: re.Match[str]) -> tuple[int, int]:
    if match.group(1) is not None:
        return int(match.group(1)), int(match.group(2))
    return int(match.group(3)), 0 if match.group(4) == "key" else 1


def detect(
    inputs: list[TensorMeta], outputs: list[TensorMeta], marked: list[str] | None = None
) -> DecoderInfo | None:
    """The decoder a model is, or None: it must take token ids and return logits plus a complete cache
    (a key and a value of the same 4-d shape on every layer). `marked`: the outputs the recipe names as
    the cache (`generation.cache_outputs`, layer by layer, key then value), for names navctl would not
    recognize."""
    names = {t.name for t in inputs}
    if TOKEN_INPUT not in names:
        return None
    cache: dict[tuple[int, int], TensorMeta] = {}
    by_name = {t.name: t for t in outputs}
    if marked:
        if len(marked) % 2 or any(name not in by_name for name in marked):
            return None
        cache = {(i // 2, i % 2): by_name[name] for i, name in enumerate(marked)}
    for out in outputs if not marked else []:
        match = _CACHE.match(out.name)
        if match:
            cache[_part(match)] = out
    if not cache:
        return None
    layers = max(layer for layer, _ in cache) + 1
    if set(cache) != {(layer, part) for layer in range(layers) for part in (0, 1)}:
        return None
    first = cache[(0, 0)]
    if len(first.shape) != 4 or any(len(t.shape) != 4 or t.shape[1] != first.shape[1] for t in cache.values()):
        return None
    logits = next((t for t in outputs if t.name == "logits"), None)
    logits = logits or next((t for t in outputs if t.name not in {c.name for c in cache.values()}), None)
    if logits is None or len(logits.shape) != 3:
        return None
    return DecoderInfo(
        logits=logits.name,
        attention_mask="attention_mask" if "attention_mask" in names else None,
        cache_outputs=[cache[(layer, part)].name for layer in range(layers) for part in (0, 1)],
        layers=layers,
        heads=int(first.shape[1]),
        head_dim=int(first.shape[3]),
        dtype=first.dtype,
        vocab=int(logits.shape[2]),
    )
