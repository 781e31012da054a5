"""How a model's tensors look to Triton: one rule for `navctl triton`'s config, `navctl serve` and the
requests `navctl loadtest` sends. Pure: no server, no framework.

With batching (axis 0) Triton declares each tensor without its batch axis and batches up to
`max_batch`; without it (`max_batch` 0) the full shape. Triton refuses a tensor without dims, so one
value per sample is declared `[1]` and reshaped back to the model's `[]` (`scalar`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from navctl.contract.records import TensorMeta
from navctl.contract.shapes import BATCH_SYMBOL
from navctl.contract.tensors import ModelIO
from navctl.plan import registry
from navctl.triton.merging import batched


@dataclass(frozen=True)
class ServingLayout:
    batching: bool
    max_batch: int  # 0: Triton does not batch the model
    sample_shapes: dict[str, tuple[int, ...]]  # each tensor's dims as Triton declares them, before the [1] rule

    @property
    def scalar(self) -> set[str]:
        """The tensors of one value per sample, declared [1]."""
        return {name for name, shape in self.sample_shapes.items() if not shape}

    def dims(self, name: str) -> tuple[int, ...]:
        return self.sample_shapes[name] or (1,)

    def to_wire(self, name: str, value: np.ndarray) -> np.ndarray:
        """The model's array as clients send or receive it (a trailing [1] for one value per sample)."""
        return value.reshape(*value.shape, 1) if name in self.scalar else value

    def from_wire(self, name: str, value: np.ndarray) -> np.ndarray:
        return value.reshape(value.shape[:-1]) if name in self.scalar else value


def serving_layout(io: ModelIO, profiled: list[int], max_batch_size: int | None, key: str = "") -> ServingLayout:
    """`profiled`: the batch sizes the format `key` profiled. The max batch size defaults to the batch
    axis's range (the recipe's batching.max_batch_size, which the batch probe proved merging for): a sweep
    that stopped early at 2, slower than another format, is no limit of the model, and Triton refused the
    recipe's own samples of batch 3. A TensorRT engine (trt-*) keeps the largest it profiled: its build
    may have halved its max batch."""
    batching = batched(io)
    ranged = [a.max for t in io.inputs for a in t.axes if a.symbol == BATCH_SYMBOL]
    if key and registry.trt_precision(registry.format_of(key)):
        ranged = []
    max_batch = (max_batch_size or max(ranged or profiled or [1])) if batching else 0
    metas: list[TensorMeta] = [*io.inputs, *io.outputs]
    shapes = {t.name: tuple(t.shape[1:] if batching else t.shape) for t in metas}
    return ServingLayout(batching, max_batch, shapes)
