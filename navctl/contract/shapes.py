"""The shapes profiled besides the batch size: named from the shape ranges (typical, min, max), taken
from the samples, or given in the recipe. Pure functions over the recorded signature (no numpy), used by
the profile step, the recipe checks after the samples step, `navctl loadtest --shape` and the reports.

A shape is a size for every dynamic axis but the batch, keyed by symbol: axes that share a symbol
(input_ids' and attention_mask's sequence) always take one size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from navctl.contract.records import AxisRange, TensorMeta

BATCH_SYMBOL = "batch"
NAMED = ("typical", "min", "max")


@dataclass(frozen=True)
class GridShape:
    name: str  # typical | min | max | sample-<i> | given-<i>
    sizes: dict[str, int] = field(default_factory=dict)  # symbol -> size, every dynamic axis but the batch

    @property
    def label(self) -> str:
        """'typical 16', 'max 32x64': the name and the sizes in symbol order."""
        return f"{self.name} {'x'.join(str(v) for v in self.sizes.values())}".strip()


def symbol_ranges(inputs: list[TensorMeta]) -> dict[str, AxisRange]:
    """Each symbol but the batch's, once (the first axis holding it), in input order."""
    found: dict[str, AxisRange] = {}
    for meta in inputs:
        for axis in meta.axes:
            if axis.symbol != BATCH_SYMBOL:
                found.setdefault(axis.symbol, axis)
    return found


def named(inputs: list[TensorMeta], name: str) -> GridShape:
    ranges = symbol_ranges(inputs)
    return GridShape(name, {symbol: getattr(r, name) for symbol, r in ranges.items()})


def given(inputs: list[TensorMeta], dims: dict[str, list[int]], name: str = "given") -> GridShape:
    """A shape written as input -> dims (batch entry ignored); symbols it leaves out take their typical
    size. Raises ValueError naming what does not fit the model's signature."""
    metas = {m.name: m for m in inputs}
    sizes: dict[str, int] = {}
    for input_name, shape in dims.items():
        meta = metas.get(input_name)
        if meta is None:
            raise ValueError(f"the model has no input named '{input_name}'; its inputs: {', '.join(metas)}")
        if len(shape) != len(meta.shape):
            raise ValueError(
                f"input '{input_name}' has {len(meta.shape)} axes {meta.shape}; {list(shape)} has {len(shape)}"
            )
        by_axis = {a.axis: a for a in meta.axes}
        for axis, size in enumerate(shape):
            if meta.shape[axis] != -1:
                if size != meta.shape[axis]:
                    raise ValueError(f"input '{input_name}' axis {axis} is fixed at {meta.shape[axis]}, not {size}")
                continue
            symbol = by_axis[axis].symbol if axis in by_axis else None
            if symbol is None or symbol == BATCH_SYMBOL:
                continue
            if sizes.setdefault(symbol, size) != size:
                raise ValueError(
                    f"'{symbol}' (input '{input_name}' axis {axis}) is given as both {sizes[symbol]} and {size}; "
                    "axes that share a symbol take one size"
                )
    typical = named(inputs, "typical").sizes
    return GridShape(name, {symbol: sizes.get(symbol, size) for symbol, size in typical.items()})


def resolve(inputs: list[TensorMeta], choice: Any, name: str = "given") -> GridShape:
    """A recipe's shape choice (typical, min, max, or {input: dims}) as a GridShape."""
    if isinstance(choice, str):
        if choice not in NAMED:
            raise ValueError(f"'{choice}' is not one of {', '.join(NAMED)}")
        return named(inputs, choice)
    return given(inputs, choice, name)


def grid(
    inputs: list[TensorMeta],
    requested: Any,
    primary: Any = "typical",
    sample_sizes: list[dict[str, int]] | None = None,
) -> list[GridShape]:
    """The shapes to profile, the selection's (`primary`) first; shapes of equal sizes are measured once,
    under the first name. `requested`: auto (typical, min, max), samples (every distinct sample shape),
    or a list of choices."""
    shapes = [resolve(inputs, primary, "given")]
    if requested == "auto":
        shapes += [named(inputs, n) for n in NAMED]
    elif requested == "samples":
        shapes.append(named(inputs, "typical"))
        shapes += [GridShape(f"sample-{i}", sizes) for i, sizes in enumerate(sample_sizes or [])]
    else:
        shapes += [resolve(inputs, choice, f"given-{i}") for i, choice in enumerate(requested)]
    unique: list[GridShape] = []
    for shape in shapes:
        if all(shape.sizes != kept.sizes for kept in unique):
            unique.append(shape)
    return unique


def dims_at(inputs: list[TensorMeta], shape: GridShape, batch: int | None) -> dict[str, list[int]]:
    """Every input's dims at this shape and batch size (None: the batch axis left as recorded, -1)."""
    out = {}
    for meta in inputs:
        dims = list(meta.shape)
        for axis in meta.axes:
            if axis.symbol == BATCH_SYMBOL:
                dims[axis.axis] = batch if batch is not None else -1
            elif axis.symbol in shape.sizes:
                dims[axis.axis] = shape.sizes[axis.symbol]
        out[meta.name] = dims
    return out


def describe_symbols(inputs: list[TensorMeta]) -> list[str]:
    """'input_ids_dim1 (input_ids axis 1, attention_mask axis 1): 16..32, typical 16', one per symbol."""
    members: dict[str, list[str]] = {}
    ranges: dict[str, AxisRange] = {}
    for meta in inputs:
        for axis in meta.axes:
            members.setdefault(axis.symbol, []).append(f"{meta.name} axis {axis.axis}")
            ranges.setdefault(axis.symbol, axis)
    return [
        f"{symbol} ({', '.join(where)}): {ranges[symbol].min}..{ranges[symbol].max}, typical {ranges[symbol].typical}"
        + (
            f" (samples {ranges[symbol].samples_min}..{ranges[symbol].samples_max})"
            if (ranges[symbol].min, ranges[symbol].max) != (ranges[symbol].samples_min, ranges[symbol].samples_max)
            else ""
        )
        for symbol, where in members.items()
    ]


def record_label(inputs: list[TensorMeta], name: str | None, dims: dict[str, list[int]] | None) -> str:
    """A profile point's shape as the tables show it: 'max 32' (its name and its sizes by symbol)."""
    if name is None:
        return ""
    sizes: dict[str, int] = {}
    for meta in inputs:
        for axis in meta.axes:
            if axis.symbol != BATCH_SYMBOL and dims and meta.name in dims and axis.axis < len(dims[meta.name]):
                sizes.setdefault(axis.symbol, dims[meta.name][axis.axis])
    return GridShape(name, sizes).label


def symbolic_shape(meta: TensorMeta) -> str:
    """'[batch, input_ids_dim1, 100]': the dims with each dynamic axis's symbol."""
    named_axes = {a.axis: a.symbol for a in meta.axes}
    return "[" + ", ".join(named_axes.get(i, str(d)) for i, d in enumerate(meta.shape)) + "]"


def ranges_text(meta: TensorMeta) -> str:
    """'batch 1..64, input_ids_dim1 16..32 (typical 16)'."""
    return ", ".join(f"{a.symbol} {a.min}..{a.max} (typical {a.typical})" for a in meta.axes)
