"""Per-shape figures for the results table: the points a runner was profiled at, grouped by shape
(profiling.shapes), each group's best throughput, latency at its smallest batch and speed-up."""

from __future__ import annotations

from dataclasses import dataclass

from navctl.contract.shapes import describe_symbols, record_label
from navctl.records.results import ProfileRecord, RunnerResult
from navctl.status import Status


@dataclass
class ShapeFigures:
    shape: str  # 'max 32': the shape's name and its sizes
    best_throughput: float
    best_batch: int
    p50_ms: float  # at latency_batch, the smallest batch size measured at this shape
    p95_ms: float
    latency_batch: int
    speedup: float | None  # same-round throughput over the source's at the best batch size
    stable: bool


def figures(status: Status, records: list[ProfileRecord]) -> ShapeFigures:
    best = max(records, key=lambda r: r.throughput)
    first = min(records, key=lambda r: r.batch_size)
    return ShapeFigures(
        shape=record_label(status.inputs, best.shape_name, best.shapes),
        best_throughput=best.throughput,
        best_batch=best.batch_size,
        p50_ms=first.p50_ms,
        p95_ms=first.p95_ms,
        latency_batch=first.batch_size,
        speedup=best.vs_reference,
        stable=all(r.stable for r in records),
    )


def by_shape(records: list[ProfileRecord]) -> list[list[ProfileRecord]]:
    """Records grouped by shape, in the order they were measured."""
    groups: dict[str | None, list[ProfileRecord]] = {}
    for record in records:
        groups.setdefault(record.shape_name, []).append(record)
    return list(groups.values())


def other_shapes(status: Status, result: RunnerResult) -> list[ShapeFigures]:
    return [figures(status, group) for group in by_shape(result.profile_shapes)]


def primary_label(status: Status, result: RunnerResult) -> str:
    first = result.profile[0] if result.profile else None
    return record_label(status.inputs, first.shape_name, first.shapes) if first else ""


def shapes_note(status: Status) -> str:
    """What the shape column's sizes are, when more than one shape was profiled."""
    shaped = [r for r in status.results.values() if r.profile_shapes and r.profile]
    if not shaped:
        return ""
    symbols = [line for line in describe_symbols(status.inputs) if not line.startswith("batch ")]
    return f"shapes: sizes of {'; '.join(symbols)}; selection compares at {primary_label(status, shaped[0])}"
