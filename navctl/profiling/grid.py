"""Profiling over a grid of shapes x batch sizes without multiplying its cost.

The first shape (the one selection compares at, `selection.shape`: typical by default) gets the whole
batch sweep. Every other shape (profiling.shapes) is measured at two batch sizes per runner: the
smallest of the sweep (a latency figure) and the smallest size whose throughput at the first shape is
within the sweep's gain of the runner's best there (a throughput figure, where the curve levels off);
a runner that stopped early there, clearly slower than another, gets the latency figure only;
the reference is measured at every size some runner needs there, so each point has its same-round
speed-up. A runner that fails at one shape keeps its figures at the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from navctl.contract.shapes import GridShape
from navctl.profiling.interleave import Member, SessionResult, reference_drift, run_session, verdict
from navctl.profiling.measure import MeasureSettings
from navctl.profiling.rules import EARLY_STOP_MARK
from navctl.profiling.selection import trusted
from navctl.profiling.sweep import SweepResult, sweep
from navctl.recipe.models import Profiling
from navctl.records.results import ProfileRecord

Dims = Callable[[GridShape, int], dict[str, list[int]]]

_DEFAULTS = Profiling()  # the auto sweep's stopping rule, as the recipe's profiling section sets it


class ShapedMember(Member, Protocol):
    def use_shape(self, index: int) -> None:
        """Measure at the grid's shape `index` from now on."""


@dataclass
class GridResult:
    session: SessionResult  # the first shape's records per member; counts and verdict over the whole grid
    others: dict[str, list[ProfileRecord]] = field(default_factory=dict)  # the other shapes' records


def other_sizes(records: list[ProfileRecord], first: int, gain_pct: float, stopped: str = "") -> list[int]:
    """The batch sizes measured at the other shapes: the sweep's first, and the smallest whose throughput
    is within `gain_pct` of the best (where it levels off: on a plateau the best is whichever size the
    noise favoured, and a BERT encoder's batch 64 at its longest sequence took 16 of a 40 s session).
    A runner that stopped early, clearly slower at the first shape (`stopped`), gets the first only: its
    "best" there is merely the last size it reached."""
    if stopped.startswith(EARLY_STOP_MARK):
        return [first]
    kept = trusted(records)
    best = max(r.throughput for r in kept)
    knee = min(r.batch_size for r in kept if r.throughput >= best * (1.0 - gain_pct / 100.0))
    return sorted({first, knee})


def _label(records: list[ProfileRecord], shape: GridShape, dims: Dims) -> None:
    for record in records:
        record.shape_name = shape.name
        record.shapes = dims(shape, record.batch_size)


def _also(stopped: str, shape: GridShape, why: str) -> str:
    return "; ".join(filter(None, [stopped, f"at {shape.label}: {why}"]))


def run_grid(
    members: list[ShapedMember],
    shapes: list[GridShape],
    sizes: dict[str, list[int]],
    settings: MeasureSettings,
    dims: Dims,
    auto: bool,
    gain_pct: float = _DEFAULTS.throughput_gain_pct,
    patience: int = _DEFAULTS.patience,
    predict: bool = _DEFAULTS.predict_saturation,
    reference: str | None = None,
    log: Callable[[str], None] | None = None,
) -> GridResult:
    """Side by side (navctl.profiling.interleave) at each shape in turn; the reference's drift is measured
    once, at the end, at the first shape. `log` gets a line per batch size (run_session) and per shape."""
    for member in members:
        member.use_shape(0)
    last = len(shapes) == 1
    first = run_session(
        members, sizes, settings, auto, gain_pct, patience, predict, reference=reference, drift=last, log=log
    )
    result = GridResult(first, {m.key: [] for m in members})
    for outcome in first.members.values():
        _label(outcome.records, shapes[0], dims)
    for index, shape in enumerate(shapes[1:], start=1):
        todo = {
            k: other_sizes(r.records, sizes[k][0], gain_pct, r.stopped) for k, r in first.members.items() if r.records
        }
        if reference in todo:
            todo[reference] = sorted(set().union(*todo.values()))
        active = [m for m in members if m.key in todo]
        for member in active:
            member.use_shape(index)
        here = reference if reference in todo else None
        # warm from the first shape: each member gets one call at a new shape, as between batch sizes
        session = None
        if active:
            if log:
                log(f"shape {shape.label}:")
            session = run_session(active, todo, settings, False, reference=here, drift=False, warm=True, log=log)
        for key, outcome in (session.members if session else {}).items():
            _label(outcome.records, shape, dims)
            result.others[key] += outcome.records
            for why in filter(None, [outcome.error, outcome.stopped]):
                first.members[key].stopped = _also(first.members[key].stopped, shape, why)
        if session:
            first.points += session.points
            first.unstable_points += session.unstable_points
    if not last and reference in first.members and first.members[reference].records:
        member = next(m for m in members if m.key == reference)
        member.use_shape(0)
        start = first.members[reference].records[0].throughput
        first.drift_pct = reference_drift(member, sizes[reference][0], settings, start)
    first.unreliable = verdict(first)
    return result


def sweep_grid(
    make_infer: Callable[[int, int], Callable[[], object]],
    shapes: list[GridShape],
    sizes: list[int],
    settings: MeasureSettings,
    dims: Dims,
    auto: bool,
    gain_pct: float,
    patience: int,
    predict: bool = True,
) -> tuple[SweepResult, list[ProfileRecord]]:
    """One runner alone over the grid (see navctl.profiling.sweep): `make_infer(shape index, size)`."""
    first = sweep(lambda size: make_infer(0, size), sizes, settings, auto, gain_pct, patience, predict)
    _label(first.records, shapes[0], dims)
    others: list[ProfileRecord] = []
    for index, shape in enumerate(shapes[1:], start=1):
        if not first.records:
            break
        try:
            at = sweep(
                lambda size, i=index: make_infer(i, size),
                other_sizes(first.records, sizes[0], gain_pct),
                settings,
                False,
                gain_pct,
                patience,
                warm=True,
            )
        except Exception as exc:  # noqa: BLE001 - one shape's failure leaves the others' figures
            first.stopped = _also(first.stopped, shape, f"{type(exc).__name__}: {str(exc).strip()[:200]}")
            continue
        _label(at.records, shape, dims)
        others += at.records
        if at.stopped:
            first.stopped = _also(first.stopped, shape, at.stopped)
    return first, others
