"""A Hugging Face causal LM as a decode step: `CacheStep` is a torch module taking the cache as plain
tensors and returning logits plus the new cache as tensors (what the ONNX export traces and the torch
formats run), and `numpy_step` turns any such module into the loop's `DecodeStep`."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch

from navctl.generation.loop import CacheLayout, DecodeStep


def cache_tensors(cache: Any) -> list[torch.Tensor]:
    """A transformers cache (a `Cache` object such as DynamicCache, or the legacy tuple of (key, value)
    per layer) as one flat list: layer 0 key, layer 0 value, layer 1 key, ..."""
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return [t for layer in layers for t in (layer.keys, layer.values)]
    if isinstance(cache, (tuple, list)):
        return [t for pair in cache for t in pair]
    raise TypeError(f"not a key/value cache: {type(cache).__name__}")


def layout_of(cache: Any) -> CacheLayout:
    """The layout of a cache the model itself returned."""
    flat = cache_tensors(cache)
    key = flat[0]
    dtype = str(key.dtype).removeprefix("torch.")
    return CacheLayout(layers=len(flat) // 2, heads=int(key.shape[1]), head_dim=int(key.shape[3]), dtype=dtype)


def example_args(layout: CacheLayout, batch: int = 2, sequence: int = 3, past: int = 4) -> tuple[torch.Tensor, ...]:
    """Inputs for tracing or exporting CacheStep: sizes all different, so no two axes are confused."""
    dtype = getattr(torch, layout.dtype)
    ids = torch.ones(batch, sequence, dtype=torch.long)
    mask = torch.ones(batch, past + sequence, dtype=torch.long)
    pos = torch.arange(past, past + sequence, dtype=torch.long).repeat(batch, 1)
    cache = [torch.randn(batch, layout.heads, past, layout.head_dim).to(dtype) for _ in range(2 * layout.layers)]
    return (ids, mask, pos, *cache)


def _cache_kwarg(model: torch.nn.Module) -> str:
    # transformers 5 renamed `past_key_values` to `cache`; older releases know only the first.
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class CacheStep(torch.nn.Module):
    """forward(input_ids, attention_mask, position_ids, *past) -> (logits, *present), past and present
    flat in layer order (key, value)."""

    def __init__(self, model: torch.nn.Module, layers: int) -> None:
        super().__init__()
        self.model = model
        self.layers = layers
        self.kwarg = _cache_kwarg(model)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        *past: torch.Tensor,
    ) -> tuple[torch.Tensor, ...]:
        from transformers import DynamicCache

        pairs = [(past[2 * i], past[2 * i + 1]) for i in range(self.layers)]
        cache = DynamicCache(pairs)
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
            **{self.kwarg: cache},
        )
        present = out.get("cache", None)
        if present is None:
            present = out["past_key_values"]
        return (out["logits"], *cache_tensors(present))


def numpy_step(module: torch.nn.Module, layout: CacheLayout, device: str = "cpu") -> DecodeStep:
    """The loop's DecodeStep over a module shaped like CacheStep (the eager wrapper, a TorchScript or
    torch.export program of it)."""
    where = torch.device("cuda" if device == "cuda" else "cpu")
    past_names = layout.input_names()
    present_names = layout.output_names()

    def step(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = ["input_ids", "attention_mask", "position_ids", *past_names]
        args = [torch.from_numpy(np.ascontiguousarray(feed[n])).to(where) for n in names]
        with torch.no_grad():
            outs = module(*args)
        result = {"logits": outs[0].detach().float().cpu().numpy()}
        result.update({n: t.detach().cpu().numpy() for n, t in zip(present_names, outs[1:], strict=True)})
        return result

    return step
