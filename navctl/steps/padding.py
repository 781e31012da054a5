"""Padding left out of the correctness comparison: where a sample's attention mask is 0.

A padded position's answer is never used (a left-padded prompt's first rows, the key/value cache
there), and runtimes compute it differently: a fully masked attention row softmaxes over nothing, which
eager PyTorch, ONNX Runtime and OpenVINO each resolve their own way. A tiny Llama fed one left-padded
prompt differed by 0.35 there and by 1e-7 everywhere else, so its ONNX and OpenVINO formats failed
their check. An output's axes are matched to the mask's batch and sequence axes by the symbols the
samples step named (navctl.steps.shape_ranges), else by size when exactly one axis fits.
"""

from __future__ import annotations

import numpy as np

from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO

Feed = dict[str, np.ndarray]
# the names Hugging Face models, and most others, give their padding masks
MASK_SUFFIXES = ("attention_mask", "padding_mask")
NAMED = 3  # outputs named in the note; the rest are counted


def mask_input(io: ModelIO, feeds: list[Feed], choice: str | None) -> str | None:
    """The input that marks padding: `choice` (the recipe's correctness.padding_mask), or with 'auto' a
    2-D integer or bool input named like a mask that holds only 0 and 1."""
    if choice is None:
        return None
    for meta in io.inputs:
        named = meta.name == choice if choice != "auto" else meta.name.endswith(MASK_SUFFIXES)
        if named and len(meta.shape) == 2 and all(_binary(feed.get(meta.name)) for feed in feeds):
            return meta.name
    return None


def _binary(array: np.ndarray | None) -> bool:
    return array is not None and array.dtype.kind in "biu" and bool(np.isin(array, (0, 1)).all())


def _axes(
    mask: TensorMeta, output: TensorMeta, shape: tuple[int, ...], size: tuple[int, int]
) -> tuple[int, int] | None:
    """The output's (batch, sequence) axes: those with the mask's symbols, else the only one of that size."""
    named = {a.axis: a.symbol for a in mask.axes}
    symbols = {a.symbol: a.axis for a in output.axes}
    found: list[int | None] = []
    for mask_axis in (0, 1):
        axis = symbols.get(named[mask_axis]) if mask_axis in named else None
        if axis is None:
            fits = [i for i, n in enumerate(shape) if n == size[mask_axis] and (mask_axis == 1 or i == 0)]
            fits = [i for i in fits if i not in found]
            axis = fits[0] if len(fits) == 1 else None
        found.append(axis)
    batch, seq = found
    if batch is None or seq is None or batch == seq or shape[batch] != size[0] or shape[seq] != size[1]:
        return None
    return batch, seq


def padding_of(io: ModelIO, mask_name: str, feeds: list[Feed], reference: list[Feed]) -> dict[str, list[np.ndarray]]:
    """Per output, per sample: True where the output answers for a padded position (only outputs with
    both of the mask's axes, and only samples with padding)."""
    mask = next(m for m in io.inputs if m.name == mask_name)
    padded: dict[str, list[np.ndarray]] = {}
    for meta in io.outputs:
        per_sample = []
        for feed, ref in zip(feeds, reference, strict=True):
            values, out = feed[mask_name], ref.get(meta.name)
            axes = _axes(mask, meta, out.shape, values.shape) if out is not None else None
            if axes is None:
                per_sample = []
                break
            pad = values == 0
            if axes[0] > axes[1]:
                pad = pad.T
            shape = [1] * out.ndim
            shape[axes[0]], shape[axes[1]] = out.shape[axes[0]], out.shape[axes[1]]
            per_sample.append(np.broadcast_to(pad.reshape(shape), out.shape))
        if per_sample and any(p.any() for p in per_sample):
            padded[meta.name] = per_sample
    return padded


def blank(outputs: list[Feed], reference: list[Feed], padded: dict[str, list[np.ndarray]]) -> list[Feed]:
    """`outputs` with the reference's values at padded positions: they agree there by construction."""
    blanked = []
    for i, (out, ref) in enumerate(zip(outputs, reference, strict=True)):
        row = dict(out)
        for name, pads in padded.items():
            if name in out and out[name].shape == ref[name].shape:
                row[name] = np.where(pads[i], ref[name], out[name])
        blanked.append(row)
    return blanked


def describe(mask_name: str, feeds: list[Feed], padded: dict[str, list[np.ndarray]]) -> str:
    """The correctness result's note, e.g. `where attention_mask is 0 (3 of 32 positions), 'logits' ...`."""
    if not padded:
        return ""
    zeros = sum(int((feed[mask_name] == 0).sum()) for feed in feeds)
    total = sum(int(feed[mask_name].size) for feed in feeds)
    names = list(padded)
    shown = ", ".join(f"'{n}'" for n in names[:NAMED])
    shown += f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return (
        f"padding not compared: where {mask_name} is 0 ({zeros} of {total} positions), outputs {shown} answer "
        "for padding, which no caller reads (correctness.padding_mask: null compares it too)"
    )
