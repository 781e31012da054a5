"""Compare two runs (packages or workspaces): correctness and best figures per format@runner."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from navctl.plan.registry import SOURCE
from navctl.records.results import ProfileRecord, RunnerResult
from navctl.status import Status

# What the speed gate compares. relative: each format's speed against the source model measured in
# the same profiling rounds (a slower or busier runner moves both alike, so drift cancels); raw: the
# figures as measured, for runs on one dedicated machine.
BASES = ("relative", "raw")


@dataclass
class DiffRow:
    key: str
    base_correct: bool | None
    new_correct: bool | None
    base_throughput: float | None
    new_throughput: float | None
    throughput_change_pct: float | None
    base_latency_ms: float | None  # p50 at the smallest batch size both runs measured
    new_latency_ms: float | None
    latency_change_pct: float | None
    regressions: list[str] = field(default_factory=list)
    # agreement with the source, lowest over the outputs (reduced precision gates on these)
    base_cosine: float | None = None
    new_cosine: float | None = None
    base_top1: float | None = None
    new_top1: float | None = None
    # relative: gated on speeds against the source model; raw: on raw figures; reference: the source itself
    basis: str = "raw"
    speed_batch: int | None = None  # the batch size the speeds against the source are compared at
    base_vs_source: float | None = None  # throughput over the source's, same rounds (vs_reference)
    new_vs_source: float | None = None
    vs_source_change_pct: float | None = None
    latency_batch: int | None = None
    latency_vs_source_change_pct: float | None = None  # latency against the source's, at latency_batch
    caveats: list[str] = field(default_factory=list)  # why a verdict may not hold

    def as_dict(self) -> dict:
        return asdict(self)


def _correct(result: RunnerResult | None) -> bool | None:
    if result is None or result.correctness is None:
        return None
    return result.correctness.passed


# Accuracy moves that count as regressions whatever the speed threshold: a point of top-1 agreement,
# a thousandth of cosine similarity.
TOP1_DROP = 0.01
COSINE_DROP = 0.001


def _lowest(result: RunnerResult | None, figure: str) -> float | None:
    if result is None or result.correctness is None:
        return None
    values = [getattr(o, figure) for o in result.correctness.outputs.values() if getattr(o, figure) is not None]
    return min(values) if values else None


def _best(result: RunnerResult | None) -> float | None:
    return max((r.throughput for r in result.profile), default=None) if result else None


def _at(result: RunnerResult | None, batch: int | None) -> ProfileRecord | None:
    if result is None or batch is None:
        return None
    return next((r for r in result.profile if r.batch_size == batch), None)


def _latency_at(result: RunnerResult | None, batch: int | None) -> float | None:
    record = _at(result, batch)
    return record.p50_ms if record else None


def _change(base: float | None, new: float | None) -> float | None:
    if base is None or new is None or base == 0:
        return None
    return (new - base) / base * 100.0


def _ratio_batches(b: RunnerResult, n: RunnerResult) -> list[int]:
    """Batch sizes at which both runs measured this runner side by side with the source."""

    def with_ratio(result: RunnerResult) -> set[int]:
        return {r.batch_size for r in result.profile if r.vs_reference}

    return sorted(with_ratio(b) & with_ratio(n))


def _speed_batch(b: RunnerResult, n: RunnerResult, batches: list[int]) -> int | None:
    """The base's best-throughput batch size when both runs have a ratio there, else the largest such."""
    if not batches:
        return None
    best = max(b.profile, key=lambda r: r.throughput).batch_size
    return best if best in batches else batches[-1]


def _unstable(label: str, record: ProfileRecord | None) -> list[str]:
    if record is None or record.stable:
        return []
    return [f"the {label} figure at batch {record.batch_size} is unstable"]


def _gate_relative(row: DiffRow, b: RunnerResult, n: RunnerResult, threshold_pct: float) -> bool:
    """Speed regressions against the source model measured in the same rounds; False when the runs
    hold no such ratios (profiled alone, or an older package) and raw figures must do."""
    batches = _ratio_batches(b, n)
    if not batches:
        return False
    row.basis = "relative"
    row.speed_batch = _speed_batch(b, n, batches)
    base_rec, new_rec = _at(b, row.speed_batch), _at(n, row.speed_batch)
    row.base_vs_source, row.new_vs_source = base_rec.vs_reference, new_rec.vs_reference
    row.vs_source_change_pct = _change(row.base_vs_source, row.new_vs_source)
    if row.vs_source_change_pct is not None and row.vs_source_change_pct < -threshold_pct:
        raw = _change(base_rec.throughput, new_rec.throughput)
        row.regressions.append(
            f"speed vs source {row.vs_source_change_pct:+.1f}% at batch {row.speed_batch} "
            f"({row.base_vs_source:.2f}x -> {row.new_vs_source:.2f}x; raw throughput {_pct(raw)})"
        )
        row.caveats += _unstable("base", base_rec) + _unstable("new", new_rec)
    row.latency_batch = batches[0]
    base_lat, new_lat = _at(b, batches[0]), _at(n, batches[0])
    # a runner's mean latency against the source's at one batch size is the inverse of its speed ratio
    row.latency_vs_source_change_pct = _change(1 / base_lat.vs_reference, 1 / new_lat.vs_reference)
    if row.latency_vs_source_change_pct is not None and row.latency_vs_source_change_pct > threshold_pct:
        raw = _change(base_lat.p50_ms, new_lat.p50_ms)
        row.regressions.append(
            f"latency vs source {row.latency_vs_source_change_pct:+.1f}% at batch {batches[0]} (raw p50 {_pct(raw)})"
        )
        row.caveats += _unstable("base", base_lat) + _unstable("new", new_lat)
    return True


def _gate_raw(row: DiffRow, threshold_pct: float) -> None:
    if row.throughput_change_pct is not None and row.throughput_change_pct < -threshold_pct:
        row.regressions.append(f"throughput {row.throughput_change_pct:+.1f}%")
    if row.latency_change_pct is not None and row.latency_change_pct > threshold_pct:
        row.regressions.append(f"p50 latency {row.latency_change_pct:+.1f}%")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def diff_status(base: Status, new: Status, threshold_pct: float, basis: str = "relative") -> list[DiffRow]:
    """One row per format@runner in either run; `regressions` says what got worse beyond the threshold.

    basis relative (the default) gates speed on each format's speed against the source model measured
    in the same rounds, and shows the raw figures beside it; raw gates on the raw figures."""
    rows = []
    for key in sorted(set(base.results) | set(new.results)):
        b, n = base.results.get(key), new.results.get(key)
        common = sorted({r.batch_size for r in b.profile} & {r.batch_size for r in n.profile}) if b and n else []
        batch = common[0] if common else None
        row = DiffRow(
            key=key,
            base_correct=_correct(b),
            new_correct=_correct(n),
            base_throughput=_best(b),
            new_throughput=_best(n),
            throughput_change_pct=_change(_best(b), _best(n)),
            base_latency_ms=_latency_at(b, batch),
            new_latency_ms=_latency_at(n, batch),
            latency_change_pct=_change(_latency_at(b, batch), _latency_at(n, batch)),
            base_cosine=_lowest(b, "cosine"),
            new_cosine=_lowest(n, "cosine"),
            base_top1=_lowest(b, "top1"),
            new_top1=_lowest(n, "top1"),
        )
        if b is not None and n is None:
            row.regressions.append("missing from the new run")
        if row.base_correct and row.new_correct is False:
            row.regressions.append("no longer correct")
        if row.base_top1 is not None and row.new_top1 is not None and row.new_top1 < row.base_top1 - TOP1_DROP:
            row.regressions.append(f"top-1 agreement {row.base_top1:.1%} -> {row.new_top1:.1%}")
        if (
            row.base_cosine is not None
            and row.new_cosine is not None
            and row.new_cosine < row.base_cosine - COSINE_DROP
        ):
            row.regressions.append(f"cosine {row.base_cosine:.4f} -> {row.new_cosine:.4f}")
        if row.base_throughput is not None and row.new_throughput is None and n is not None:
            row.regressions.append("no longer profiled")
        _gate_speed(row, b, n, threshold_pct, basis)
        rows.append(row)
    served = _loadtest_row(base, new, threshold_pct)
    if served is not None:
        rows.append(served)
    from navctl.generation.diff import generation_rows  # imports this module's DiffRow

    rows += generation_rows(base, new, threshold_pct, basis)
    return rows


def _gate_speed(row: DiffRow, b: RunnerResult | None, n: RunnerResult | None, threshold_pct: float, basis: str) -> None:
    if basis == "raw" or b is None or n is None:
        _gate_raw(row, threshold_pct)
        return
    if b.format == SOURCE:
        row.basis = "reference"  # the yardstick: its raw change is the machine's (or the model's) own
        if row.throughput_change_pct is not None and abs(row.throughput_change_pct) > threshold_pct:
            row.caveats.append(
                f"the source model's raw throughput moved {row.throughput_change_pct:+.1f}%: a different or "
                "busier machine, or a change to the model itself; formats are gated on speeds relative to it"
            )
        return
    if not _gate_relative(row, b, n, threshold_pct):
        _gate_raw(row, threshold_pct)
        if row.regressions:
            row.caveats.append("raw figures: no same-round ratio to the source model in one of the runs")


def verdict_caveat(base: Status, new: Status, rows: list[DiffRow]) -> str:
    """Why the gate's verdict, pass or fail, may not hold: a run flagged unreliable ('' if none)."""
    flagged = [
        f"{label} ({s.profiling.unreliable})" for label, s in (("base", base), ("new", new)) if s.profiling.unreliable
    ]
    if not flagged or not any(r.base_throughput is not None for r in rows):
        return ""
    return "the verdict rests on a run flagged unreliable: " + "; ".join(flagged)


def _served(status: Status) -> tuple[float, float | None] | None:
    """A load test's headline: (infer/s, p99 ms) within the budget when it had one, else at its peak."""
    info = status.loadtest
    if info is None or not info.runs:
        return None
    best = next((r for r in info.runs if r.config == info.best), info.runs[0])
    point = best.within_budget or max(best.points, key=lambda p: p.throughput, default=None)
    return (point.throughput, point.p99_ms) if point else None


def _loadtest_row(base: Status, new: Status, threshold_pct: float) -> DiffRow | None:
    """Serving under load, compared when both runs were load-tested on the same format with the same budget."""
    if base.loadtest is None or new.loadtest is None:
        return None
    if (base.loadtest.key, base.loadtest.latency_budget_ms) != (new.loadtest.key, new.loadtest.latency_budget_ms):
        return None
    b, n = _served(base), _served(new)
    if b is None or n is None:
        return None
    row = DiffRow(
        key=f"served {base.loadtest.key}",
        base_correct=None,
        new_correct=None,
        base_throughput=b[0],
        new_throughput=n[0],
        throughput_change_pct=_change(b[0], n[0]),
        base_latency_ms=b[1],
        new_latency_ms=n[1],
        latency_change_pct=_change(b[1], n[1]),
    )
    if row.throughput_change_pct is not None and row.throughput_change_pct < -threshold_pct:
        row.regressions.append(f"served throughput {row.throughput_change_pct:+.1f}%")
    if row.latency_change_pct is not None and row.latency_change_pct > threshold_pct:
        row.regressions.append(f"served p99 latency {row.latency_change_pct:+.1f}%")
    return row


def parse_percent(text: str) -> float:
    value = text.strip().removesuffix("%")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a percentage such as 5% or 2.5") from None
    if number < 0:
        raise ValueError("a regression threshold cannot be negative")
    return number
