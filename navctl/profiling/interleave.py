"""Profiling several runners side by side: round-robin windows at each batch size.

A shared or drifting machine (CI runners, a busy workstation) changes speed by a third between
minutes. Measured one after another, that drift turns into differences between formats. Measured in
rounds (A, B, C, then B, C, A, ...), every runner sees the same conditions, and the ratio of two
runners in the same round cancels the drift, as A/B benchmark tools do.

Pure logic over `Member` objects (a runner behind a pipe in production, a fake in tests):
- each batch size: warm-up for every member, then rounds of one window each until each member's
  last `windows` windows agree within `stability_pct` (at most `max_trials` rounds);
- the auto sweep stops a member when throughput stops growing, counting stable points only: an
  unstable point is re-measured in the next rounds and never ends a sweep; a candidate clearly slower
  than another at every size so far stops too (`rules.clearly_slower`), and so does the reference once
  no other member sweeps; the session ends once every member has stopped;
- the reference (the source model) is measured again at the end: its drift and the share of unstable
  points say whether the machine was too busy for the numbers to be trusted.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from navctl.profiling.measure import MIN_WINDOW_REQUESTS, MeasureSettings, profile_record
from navctl.profiling.rules import (
    MEMORY_STOP_MARK,
    clearly_slower,
    sweep_stop_reason,
    window_spread_pct,
    windows_stable,
)
from navctl.profiling.sweep import BETWEEN_SIZES_WARMUP_S, is_out_of_memory
from navctl.recipe.models import Profiling
from navctl.records.results import ProfileRecord

# The reference moving more than this between the start and the end marks the run as noisy.
DRIFT_LIMIT_PCT = 20.0
# More than this share of unstable points marks it as noisy too.
UNSTABLE_LIMIT = 0.25
# A short pause between two runners' windows lets the scheduler settle (the members themselves keep
# each other's spinning threads off the cores: see navctl.steps.profile._RunnerProcess).
SETTLE_S = 0.005

_DEFAULTS = Profiling()  # the auto sweep's stopping rule, as the recipe's profiling section sets it


class MemberFailed(Exception):
    """A member's runner raised (or its process died) while measuring."""


class Member(Protocol):
    key: str

    def warmup(self, batch_size: int, seconds: float) -> None:
        """Run the model at this batch size for `seconds` (at least once)."""

    def window(self, batch_size: int, seconds: float) -> list[float]:
        """Run requests until `rules.window_done(count, elapsed, seconds)`; return each latency in s."""


@dataclass
class _Window:
    latencies: list[float]
    throughput: float


@dataclass
class MemberResult:
    key: str
    records: list[ProfileRecord] = field(default_factory=list)
    stopped: str = ""
    error: str = ""
    active: bool = True
    noise_pct: dict[int, float] = field(default_factory=dict)  # batch size -> spread of the kept windows


@dataclass
class SessionResult:
    members: dict[str, MemberResult]
    reference: str | None
    drift_pct: float | None
    unstable_points: int
    points: int
    unreliable: str = ""


def _record(batch_size: int, windows: list[_Window], settings: MeasureSettings, stable: bool) -> ProfileRecord:
    kept = windows[-min(settings.windows, len(windows)) :]
    latencies = [lat for w in kept for lat in w.latencies]
    return profile_record(batch_size, latencies, sum(latencies), stable)


def _window(member: Member, batch_size: int, seconds: float) -> _Window:
    latencies = member.window(batch_size, seconds)
    total = sum(latencies)
    return _Window(latencies, len(latencies) * batch_size / total if total > 0 else 0.0)


def _fail(result: MemberResult, size: int, exc: Exception) -> None:
    result.active = False
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    if is_out_of_memory(exc) and result.records:
        result.stopped = f"{MEMORY_STOP_MARK} {size}: {first}"
    else:
        result.error = f"batch size {size}: {first}"


def _sweep_continues(
    result: MemberResult, record: ProfileRecord, gain_pct: float, patience: int, predict: bool
) -> bool:
    """The auto sweep's rule on stable points only (an unstable point neither extends nor ends it)."""
    if not record.stable:
        return True
    points = [(r.batch_size, r.throughput) for r in result.records if r.stable]
    result.stopped = sweep_stop_reason(points, gain_pct, patience, predict, result.noise_pct)
    return not result.stopped


def _stop_slower(results: dict[str, MemberResult], reference: str | None, floor_pct: float) -> None:
    """A member clearly slower than another at every size it measured stably so far ends its sweep, judged
    when its newest point is stable (an unstable point is no evidence either way: before, one unstable
    batch-1 point kept a TorchScript runner 3x slower than ONNX Runtime sweeping to batch 64). The
    reference goes on while another member still sweeps (their same-round speed-ups need it); once it
    sweeps alone, the same rule stops it (before, a source model slower than ONNX Runtime at every size
    swept on alone to batch 64: on a ResNet-18, 20 of the session's 42 s)."""
    measured = [r for r in results.values() if r.records]
    stable = {r.key: {p.batch_size: p.throughput for p in r.records if p.stable} for r in measured}
    for result in sorted(measured, key=lambda r: r.key == reference):  # the reference last: it may be left alone
        if not result.active or not result.records[-1].stable:
            continue
        if result.key == reference and any(r.active for r in results.values() if r.key != reference):
            continue
        noise = result.noise_pct
        own = [(p.batch_size, p.throughput, noise.get(p.batch_size, 0.0)) for p in result.records if p.stable]
        unstable = [p.batch_size for p in result.records if not p.stable]
        others = {key: points for key, points in stable.items() if key != result.key}
        if reason := clearly_slower(own, others, floor_pct, unstable):
            result.stopped, result.active = reason, False


def run_session(
    members: list[Member],
    sizes: dict[str, list[int]],
    settings: MeasureSettings,
    auto: bool,
    gain_pct: float = _DEFAULTS.throughput_gain_pct,
    patience: int = _DEFAULTS.patience,
    predict: bool = _DEFAULTS.predict_saturation,
    reference: str | None = None,
    log: Callable[[str], None] | None = None,
    drift: bool = True,
    warm: bool = False,
) -> SessionResult:
    """Profile `members` in rounds at each batch size; `sizes[key]` lists a member's batch sizes.
    `drift=False`: the reference is not measured again at the end (a caller with more to measure does it).
    `warm`: the members have run already (another shape): one call at the first size, as between sizes.
    `log` gets a line per batch size: each member's figure, windows and seconds spent (warm-up included)."""
    results = {m.key: MemberResult(m.key) for m in members}
    window_s = settings.window_ms / 1000.0
    started: set[str] = {m.key for m in members} if warm else set()
    start_reference: float | None = None
    for size in sorted({s for key in sizes for s in sizes[key]}):
        active = [m for m in members if results[m.key].active and size in sizes[m.key]]
        spent: dict[str, float] = {m.key: 0.0 for m in active}
        for member in active:
            try:
                with _charged(spent, member.key):
                    member.warmup(size, settings.warmup_s if member.key not in started else BETWEEN_SIZES_WARMUP_S)
                started.add(member.key)
            except MemberFailed as exc:
                _fail(results[member.key], size, exc)
        active = [m for m in active if results[m.key].active]
        windows: dict[str, list[_Window]] = {m.key: [] for m in active}
        stable: dict[str, bool] = {m.key: False for m in active}
        for trial in range(settings.max_trials):
            todo = [m for m in active if not stable[m.key] and results[m.key].active]
            if not todo:
                break
            shift = trial % len(todo)
            for member in todo[shift:] + todo[:shift]:  # rotate who goes first: no fixed position bias
                if len(active) > 1:
                    time.sleep(SETTLE_S)
                try:
                    with _charged(spent, member.key):
                        windows[member.key].append(_window(member, size, window_s))
                except MemberFailed as exc:
                    _fail(results[member.key], size, exc)
                    continue
                throughputs = [w.throughput for w in windows[member.key]]
                stable[member.key] = windows_stable(throughputs, settings.windows, settings.stability_pct)
        ref_windows = [w.throughput for w in windows.get(reference or "", [])]
        for member in active:
            result = results[member.key]
            if not result.active or not windows[member.key]:
                continue
            record = _record(size, windows[member.key], settings, stable[member.key])
            kept = windows[member.key][-min(settings.windows, len(windows[member.key])) :]
            result.noise_pct[size] = window_spread_pct([w.throughput for w in kept])
            record.spread_pct = round(result.noise_pct[size], 2)
            if ref_windows:
                record.vs_reference = same_round_ratio([w.throughput for w in windows[member.key]], ref_windows)
            result.records.append(record)
            if member.key == reference and start_reference is None:
                start_reference = record.throughput
            if auto and not _sweep_continues(result, record, gain_pct, patience, predict):
                result.active = False
        if auto:
            _stop_slower(results, reference, gain_pct)
        if log and active:
            log(_size_line(size, active, results, windows, spent))
    for key, result in results.items():  # a stop decided at a member's last size cut nothing short
        if result.stopped and not result.error and result.records and result.records[-1].batch_size == sizes[key][-1]:
            result.stopped = ""
    moved = _drift(members, results, reference, start_reference, sizes, settings) if drift else None
    points = [r for m in results.values() for r in m.records]
    unstable = sum(1 for r in points if not r.stable)
    session = SessionResult(results, reference, moved, unstable, len(points))
    session.unreliable = verdict(session)
    return session


@contextlib.contextmanager
def _charged(spent: dict[str, float], key: str) -> Iterator[None]:
    """Add the time the block takes (raising or not) to `spent[key]`."""
    began = time.perf_counter()
    try:
        yield
    finally:
        spent[key] += time.perf_counter() - began


def _size_line(
    size: int,
    active: list[Member],
    results: dict[str, MemberResult],
    windows: dict[str, list[_Window]],
    spent: dict[str, float],
) -> str:
    parts = []
    for member in active:
        result = results[member.key]
        record = result.records[-1] if result.records and result.records[-1].batch_size == size else None
        figure = f"{record.throughput:,.1f}/s{'' if record.stable else ' unstable'}" if record else "failed"
        parts.append(f"{member.key} {figure}, {len(windows[member.key])} windows, {spent[member.key]:.2f} s")
        if not result.active:
            parts[-1] += f" (stops: {result.stopped or result.error})"
    return f"batch {size}: " + "; ".join(parts)


def _drift(members, results, reference, start_throughput, sizes, settings) -> float | None:
    if reference is None or start_throughput is None or results[reference].error:
        return None
    member = next(m for m in members if m.key == reference)
    return reference_drift(member, sizes[reference][0], settings, start_throughput)


def reference_drift(member: Member, size: int, settings: MeasureSettings, start_throughput: float) -> float | None:
    """The reference measured again at its first batch size: percent change since the start."""
    try:
        member.warmup(size, BETWEEN_SIZES_WARMUP_S)
        windows = [_window(member, size, settings.window_ms / 1000.0) for _ in range(settings.windows)]
    except MemberFailed:
        return None
    end = _record(size, windows, settings, True).throughput
    return (end - start_throughput) / start_throughput * 100.0 if start_throughput > 0 else None


def verdict(session: SessionResult) -> str:
    """Why the numbers should not be trusted, or '' when nothing says so."""
    reasons = []
    if session.drift_pct is not None and abs(session.drift_pct) > DRIFT_LIMIT_PCT:
        reasons.append(f"the reference's speed moved {session.drift_pct:+.0f}% between the start and the end")
    if session.points and session.unstable_points / session.points > UNSTABLE_LIMIT:
        reasons.append(f"{session.unstable_points} of {session.points} measurements were unstable")
    return "; ".join(reasons)


def same_round_ratio(a: list[float], b: list[float]) -> float | None:
    """Median of per-round throughput ratios a/b over the rounds both were measured in."""
    pairs = [x / y for x, y in zip(a, b, strict=False) if y > 0]
    return statistics.median(pairs) if pairs else None


__all__ = ["MIN_WINDOW_REQUESTS", "Member", "MemberFailed", "SessionResult", "run_session"]
