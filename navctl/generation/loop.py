"""The greedy generation loop, framework-neutral (numpy only), over one decode-step callable.

A decode step is one forward of a causal LM with its key/value cache passed in and handed back. Its
feed and result use the names every navctl format keeps (ONNX, OpenVINO, the torch formats):

    in:  input_ids [B, S] int64, attention_mask [B, P+S] int64, position_ids [B, S] int64,
         past_key_values.N.key / past_key_values.N.value [B, kv_heads, P, head_dim]
    out: logits [B, S, vocab], present.N.key / present.N.value [B, kv_heads, P+S, head_dim]

P (the cache length) is 0 for the prefill: one merged step serves both prefill (empty cache) and decode
(S = 1), as Optimum's merged "with-past" decoders do. Left padding follows transformers' `generate`:
position ids are the attention mask's cumulative sum minus one (padded slots get 1, never attended), so a
padded row sees exactly the positions an unpadded one would. This module is a stable API: the serving
code drives its decode steps with `greedy` too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

DecodeStep = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
"""One forward: feed (the names above) -> result with `logits` and `present.N.key|value`."""

OnToken = Callable[[int, np.ndarray], None]
"""Called after every step with (step index, the tokens it chose [B]); step 0 is the prefill's."""


def past_name(layer: int, part: str) -> str:
    return f"past_key_values.{layer}.{part}"


def present_name(layer: int, part: str) -> str:
    return f"present.{layer}.{part}"


@dataclass(frozen=True)
class CacheLayout:
    """The shape of a decoder's key/value cache: per layer one key and one value
    [batch, heads, length, head_dim] (heads = the key/value heads, fewer than the query heads under GQA)."""

    layers: int
    heads: int
    head_dim: int
    dtype: str = "float32"

    def input_names(self) -> list[str]:
        return [past_name(i, p) for i in range(self.layers) for p in ("key", "value")]

    def output_names(self) -> list[str]:
        return [present_name(i, p) for i in range(self.layers) for p in ("key", "value")]

    def empty(self, batch: int) -> dict[str, np.ndarray]:
        """The prefill's cache: length 0 on every layer."""
        shape = (batch, self.heads, 0, self.head_dim)
        return {name: np.zeros(shape, dtype=self.dtype) for name in self.input_names()}

    def to_dict(self) -> dict[str, object]:
        return {"layers": self.layers, "heads": self.heads, "head_dim": self.head_dim, "dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> CacheLayout:
        return cls(
            layers=int(data["layers"]),  # type: ignore[call-overload]
            heads=int(data["heads"]),  # type: ignore[call-overload]
            head_dim=int(data["head_dim"]),  # type: ignore[call-overload]
            dtype=str(data.get("dtype", "float32")),
        )


@dataclass
class Generation:
    """What `greedy` produced: the new tokens [B, N] (N <= max_new_tokens: it stops early once every row
    met `eos`; finished rows are filled with `pad`), the last position's logits of each step [B, vocab]
    (step 0 is the prefill's) and each step's wall time in seconds (step 0 = time to the first token)."""

    tokens: np.ndarray
    step_logits: list[np.ndarray] = field(default_factory=list)
    step_times_s: list[float] = field(default_factory=list)

    @property
    def ttft_s(self) -> float:
        return self.step_times_s[0]

    @property
    def decode_times_s(self) -> list[float]:
        """The per-token decode latencies (every step after the prefill)."""
        return self.step_times_s[1:]


def positions(attention_mask: np.ndarray) -> np.ndarray:
    """Position ids from a (left-padded) mask as transformers' generate makes them."""
    pos = np.cumsum(attention_mask, axis=1, dtype=np.int64) - 1
    return np.where(attention_mask == 0, 1, pos).astype(np.int64)


def greedy(
    step: DecodeStep,
    layout: CacheLayout,
    prompt_ids: np.ndarray,
    attention_mask: np.ndarray | None = None,
    max_new_tokens: int = 16,
    eos: int | None = None,
    pad: int | None = None,
    on_token: OnToken | None = None,
) -> Generation:
    """Greedy-decode up to `max_new_tokens` tokens after `prompt_ids` [B, S] (left-padded where
    `attention_mask` [B, S] has zeros on the left)."""
    ids = np.asarray(prompt_ids, dtype=np.int64)
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"prompt_ids must be [batch, length>0], got shape {list(ids.shape)}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    mask = np.ones_like(ids) if attention_mask is None else np.asarray(attention_mask, dtype=np.int64)
    if mask.shape != ids.shape:
        raise ValueError(f"attention_mask shape {list(mask.shape)} differs from prompt_ids {list(ids.shape)}")
    batch = ids.shape[0]
    fill = eos if pad is None else pad
    cache = layout.empty(batch)
    feed_ids, feed_pos = ids, positions(mask)
    done = np.zeros(batch, dtype=bool)
    out = Generation(tokens=np.zeros((batch, 0), dtype=np.int64))
    chosen: list[np.ndarray] = []
    for index in range(max_new_tokens):
        feed = {"input_ids": feed_ids, "attention_mask": mask, "position_ids": feed_pos, **cache}
        start = time.perf_counter()
        result = step(feed)
        logits = np.asarray(result["logits"])
        last = logits[:, -1, :] if logits.ndim == 3 else logits
        token = np.argmax(last, axis=-1).astype(np.int64)
        out.step_times_s.append(time.perf_counter() - start)
        out.step_logits.append(np.array(last, dtype=np.float32))
        if eos is not None:
            if fill is not None:
                token = np.where(done, fill, token)
            done |= token == eos
        chosen.append(token)
        if on_token is not None:
            on_token(index, token)
        if eos is not None and done.all():
            break
        cache = {
            past_name(i, p): np.asarray(result[present_name(i, p)])
            for i in range(layout.layers)
            for p in ("key", "value")
        }
        mask = np.concatenate([mask, np.ones((batch, 1), dtype=np.int64)], axis=1)
        feed_ids = token[:, None]
        feed_pos = (feed_pos[:, -1:] + 1).astype(np.int64)
    out.tokens = np.stack(chosen, axis=1)
    return out


def first_divergence(expected: np.ndarray, actual: np.ndarray) -> dict[str, int] | None:
    """The first step where two token sequences [B, N] differ, with both tokens; None when identical
    (a shorter sequence diverges where it ends: its token reads -1)."""
    steps = max(expected.shape[1], actual.shape[1])
    for index in range(steps):
        for row in range(expected.shape[0]):
            want = int(expected[row, index]) if index < expected.shape[1] else -1
            got = int(actual[row, index]) if index < actual.shape[1] else -1
            if want != got:
                return {"step": index, "row": row, "expected": want, "actual": got}
    return None
