"""Padding left out of the correctness comparison: where a sample's attention mask is 0.

A padded position's answer is never used (a left-padded prompt's first rows, the key/value cache
there), and runtimes compute it differently: a fully masked attention row softmaxes over nothing, which
eager PyTorch, ONNX Runtime and OpenVINO each resolve their own way. A tiny Llama fed one left-padded
prompt differed by 0.35 there and by 1e-7 everywhere else, so its ONNX and OpenVINO formats failed
their check.

The mask follows Hugging Face's convention (1 a real token, 0 padding) and must look like padding: in
each row the zeros are one block at the start or the end, and the row keeps a real token (random bits,
PyTorch's key_padding_mask with True for padding, or a row of padding only are no such mask). An
output's axes are matched to the mask's batch and sequence axes by the symbols the samples step named
(navctl.steps.shape_ranges), never by size alone; a model with two masks or decoder inputs (an
encoder-decoder) is compared everywhere unless the recipe names the mask.
"""

from __future__ import annotations

import numpy as np

from navctl.contract.records import TensorMeta
from navctl.contract.tensors import ModelIO

Feed = dict[str, np.ndarray]
MASK_SUFFIX = "attention_mask"  # the name Hugging Face models, and most others, give a padding mask
DECODER_PREFIX = "decoder_"  # an encoder-decoder's decoder inputs (T5, BART: decoder_input_ids)
NAMED = 3  # outputs named in the note; the rest are counted


def mask_input(io: ModelIO, feeds: list[Feed], choice: str | None) -> str | None:
    """The input that marks padding: `choice` (the recipe's correctness.padding_mask), or with 'auto' the
    one 2-D input named *attention_mask whose rows look like padding, in a model with no decoder inputs:
    an encoder-decoder's outputs answer for the decoder's positions, which the encoder's mask does not
    mark, though samples of equal lengths give both one symbol."""
    if choice is None:
        return None
    if choice == "auto" and any(m.name.startswith(DECODER_PREFIX) for m in io.inputs):
        return None
    named = [m for m in io.inputs if (m.name == choice if choice != "auto" else m.name.endswith(MASK_SUFFIX))]
    if choice == "auto" and len(named) != 1:
        return None
    for meta in named:
        if len(meta.shape) == 2 and all(_padding_rows(feed.get(meta.name)) for feed in feeds):
            return meta.name
    return None


def _padding_rows(array: np.ndarray | None) -> bool:
    """0 and 1 only (integer, bool or float), each row's zeros one block at its start or end, and a 1 in
    every row."""
    if array is None or array.ndim != 2 or array.dtype.kind not in "biuf" or not np.isin(array, (0, 1)).all():
        return False
    for row in array.astype(bool):
        real = np.flatnonzero(row)
        if not real.size or real[-1] - real[0] + 1 != real.size or (real[0] > 0 and real[-1] < row.size - 1):
            return False
    return True


def _axes(
    mask: TensorMeta, output: TensorMeta, shape: tuple[int, ...], size: tuple[int, int]
) -> tuple[int, int] | None:
    """The output's (batch, sequence) axes, by the mask's symbols only: an axis that merely has the
    sequence's length (8 attention heads beside 8 tokens) is no sequence axis, so samples of one length,
    which name no sequence symbol, leave every position compared."""
    named = {a.axis: a.symbol for a in mask.axes}
    symbols = {a.symbol: a.axis for a in output.axes}
    batch = symbols.get(named[0]) if 0 in named else None
    if batch is None and shape and shape[0] == size[0]:
        batch = 0
    seq = symbols.get(named[1]) if 1 in named else None
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
