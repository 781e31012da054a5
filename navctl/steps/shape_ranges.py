"""Shape ranges from the samples: which axes are dynamic, the sizes each takes (min, typical, max), and
which axes share one symbol.

An axis is dynamic when the samples differ on it, when the recipe declares it (`inputs[].dynamic_axes`,
`inputs[].axes`), or when it is the batch axis. Two axes share a symbol when the batch axis is what they
are, when the recipe gives them one `symbol`, or when they are axes of different inputs that take the
same size in every sample and that size varies (input_ids' and attention_mask's sequence): a size that
never varies proves nothing, and two axes of one input that agree (a square image's height and width)
are more likely a habit of the data than a rule of the model.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from navctl.contract.kind_options import SamplesOptions
from navctl.contract.records import AxisRange, TensorMeta
from navctl.contract.shapes import BATCH_SYMBOL
from navctl.steps.child import StepFailed

Feed = dict[str, Any]  # name -> array
Slot = tuple[str, int]  # (tensor name, axis)


@dataclass
class _Group:
    slots: list[Slot]
    symbol: str | None = None  # declared in the recipe, or the batch's
    bounds: list[tuple[Slot, dict[str, Any]]] = field(default_factory=list)


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    return name if name and not name[0].isdigit() else f"d_{name}"


def _typical(values: list[int]) -> int:
    counts = Counter(values)
    top = max(counts.values())
    return min(v for v, n in counts.items() if n == top)


def find_ranges(
    feeds: list[Feed],
    batching: bool,
    batch_axis: int,
    dynamic: dict[str, list[int]],
    declared: dict[str, dict[int, dict[str, Any]]],
    max_batch: int,
) -> dict[str, list[AxisRange]]:
    """Every input's dynamic axes with their ranges and symbols. `declared`: input -> axis -> the recipe's
    {min, max, symbol}. The batch axis runs from 1 to max_batch."""
    names = list(feeds[0])
    sizes: dict[Slot, list[int]] = {
        (n, a): [int(f[n].shape[a]) for f in feeds] for n in names for a in range(feeds[0][n].ndim)
    }
    batch_slots = [(n, batch_axis) for n in names if batching and feeds[0][n].ndim > batch_axis]
    wanted = {s for s, v in sizes.items() if len(set(v)) > 1}
    wanted |= {(n, a) for n, axes in dynamic.items() for a in axes if (n, a) in sizes}
    wanted |= {(n, a) for n, axes in declared.items() for a in axes if (n, a) in sizes}
    wanted |= set(batch_slots)
    groups: list[_Group] = [_Group(batch_slots, BATCH_SYMBOL)] if batch_slots else []
    by_symbol: dict[str, _Group] = {}
    for slot in sorted(wanted - set(batch_slots), key=lambda s: (names.index(s[0]), s[1])):
        bounds = declared.get(slot[0], {}).get(slot[1], {})
        symbol = bounds.get("symbol")
        if symbol is not None and symbol in by_symbol:
            group = by_symbol[symbol]
            group.slots.append(slot)
        else:
            group = _Group([slot], symbol)
            groups.append(group)
            if symbol is not None:
                by_symbol[symbol] = group
        if bounds:
            group.bounds.append((slot, bounds))
    groups = _merge_by_evidence(groups, sizes)
    return _ranges(groups, sizes, max_batch)


def _merge_by_evidence(groups: list[_Group], sizes: dict[Slot, list[int]]) -> list[_Group]:
    """Groups of different inputs whose sizes vary and agree in every sample become one (never the batch's,
    never two the recipe named differently)."""
    merged: list[_Group] = []
    for group in groups:
        seen = sizes[group.slots[0]]
        into = next(
            (
                kept
                for kept in merged
                if group.symbol != BATCH_SYMBOL
                and kept.symbol != BATCH_SYMBOL
                and (group.symbol is None or kept.symbol is None)
                and len(set(seen)) > 1
                and sizes[kept.slots[0]] == seen
                and not {n for n, _ in group.slots} & {n for n, _ in kept.slots}
            ),
            None,
        )
        if into is None:
            merged.append(group)
            continue
        into.slots += group.slots
        into.bounds += group.bounds
        into.symbol = into.symbol or group.symbol
    return merged


def _ranges(groups: list[_Group], sizes: dict[Slot, list[int]], max_batch: int) -> dict[str, list[AxisRange]]:
    out: dict[str, list[AxisRange]] = {}
    taken: set[str] = set()
    for group in groups:
        values = sizes[group.slots[0]]
        for slot in group.slots[1:]:
            if sizes[slot] != values and group.symbol != BATCH_SYMBOL:
                raise StepFailed(
                    f"inputs '{group.slots[0][0]}' axis {group.slots[0][1]} and '{slot[0]}' axis {slot[1]} share "
                    f"the symbol '{group.symbol}' in the recipe, but the samples give them different sizes "
                    f"({values} and {sizes[slot]})"
                )
        symbol = group.symbol or _identifier(f"{group.slots[0][0]}_dim{group.slots[0][1]}")
        while symbol in taken:
            symbol += "_"
        taken.add(symbol)
        low, high = min(values), max(values)
        if group.symbol == BATCH_SYMBOL:
            start, end = 1, max(max_batch, 1)
        else:
            # several declarations in one group: the widest wins here; the recipe check reports the conflict
            mins = [b["min"] for _, b in group.bounds if b.get("min") is not None]
            maxes = [b["max"] for _, b in group.bounds if b.get("max") is not None]
            start, end = (min(mins) if mins else low), (max(maxes) if maxes else high)
        for name, axis in group.slots:
            out.setdefault(name, []).append(
                AxisRange(
                    axis=axis,
                    symbol=symbol,
                    min=start,
                    typical=_typical(values),
                    max=end,
                    samples_min=low,
                    samples_max=high,
                )
            )
    return {name: sorted(axes, key=lambda a: a.axis) for name, axes in out.items()}


def with_ranges(metas: list[TensorMeta], ranges: dict[str, list[AxisRange]]) -> list[TensorMeta]:
    """The metas with their ranges, every ranged axis marked dynamic (-1)."""
    out = []
    for meta in metas:
        axes = ranges.get(meta.name, [])
        shape = [-1 if any(a.axis == i for a in axes) else d for i, d in enumerate(meta.shape)]
        out.append(meta.model_copy(update={"shape": shape, "axes": axes}))
    return out


def name_output_axes(
    outputs: list[TensorMeta], out_feeds: list[Feed], inputs: list[TensorMeta], in_feeds: list[Feed], batch_axis: int
) -> list[TensorMeta]:
    """Outputs' dynamic axes named after the input symbol whose sizes they follow in every sample
    (logits' batch and sequence), else after themselves; ranges follow that symbol, or the samples."""
    candidates: dict[tuple[int, ...], list[AxisRange]] = {}
    for meta in inputs:
        for axis in meta.axes:
            seen = tuple(int(f[meta.name].shape[axis.axis]) for f in in_feeds)
            candidates.setdefault(seen, []).append(axis)
    taken = {a.symbol for m in inputs for a in m.axes}
    out = []
    for meta in outputs:
        axes = []
        for index, dim in enumerate(meta.shape):
            if dim != -1:
                continue
            seen = tuple(int(f[meta.name].shape[index]) for f in out_feeds)
            found = candidates.get(seen, [])
            batch = [a for a in found if a.symbol == BATCH_SYMBOL]
            others = [a for a in found if a.symbol != BATCH_SYMBOL]
            source = (batch if index == batch_axis and batch else others or batch or [None])[0]
            if source is not None:
                axes.append(source.model_copy(update={"axis": index}))
                continue
            symbol = _identifier(f"{meta.name}_dim{index}")
            while symbol in taken:
                symbol += "_"
            taken.add(symbol)
            low, high = min(seen), max(seen)
            axes.append(
                AxisRange(
                    axis=index,
                    symbol=symbol,
                    min=low,
                    typical=_typical(list(seen)),
                    max=high,
                    samples_min=low,
                    samples_max=high,
                )
            )
        out.append(meta.model_copy(update={"axes": axes}))
    return out


# ----- the samples step's part ---------------------------------------------------------------------------
def ranged_inputs(metas: list[TensorMeta], feeds: list[Feed], options: SamplesOptions) -> list[TensorMeta]:
    """The input metas with every dynamic axis's range and symbol (see find_ranges)."""
    ranges = find_ranges(
        feeds,
        options.batching,
        options.batch_axis,
        options.input_dynamic_axes,
        options.input_axes,
        options.max_batch_size,
    )
    return with_ranges(metas, ranges)


def axis_symbols(meta: TensorMeta) -> dict[int, str]:
    """Every dynamic axis's symbol (axes recorded before ranges existed get `<name>_dim<axis>`)."""
    named = {a.axis: a.symbol for a in meta.axes}
    return {i: named.get(i, _identifier(f"{meta.name}_dim{i}")) for i, d in enumerate(meta.shape) if d == -1}


def export_bounds(inputs: list[TensorMeta]) -> dict[str, tuple[int | None, int | None]]:
    """symbol -> (min, max) to build into exported programs: only what the recipe declared beyond the
    samples (an observed largest size is no limit the user asked for; the batch's is Triton's business)."""
    out: dict[str, tuple[int | None, int | None]] = {}
    for meta in inputs:
        for a in meta.axes:
            if a.symbol != BATCH_SYMBOL:
                out[a.symbol] = (a.min if a.min < a.samples_min else None, a.max if a.max > a.samples_max else None)
    return out
