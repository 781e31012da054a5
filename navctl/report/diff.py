"""Compare two runs (packages or workspaces): correctness and best figures per format@runner."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from navctl.status import RunnerResult, Status


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


def _latency_at(result: RunnerResult | None, batch: int | None) -> float | None:
    if result is None or batch is None:
        return None
    return next((r.p50_ms for r in result.profile if r.batch_size == batch), None)


def _change(base: float | None, new: float | None) -> float | None:
    if base is None or new is None or base == 0:
        return None
    return (new - base) / base * 100.0


def diff_status(base: Status, new: Status, threshold_pct: float) -> list[DiffRow]:
    """One row per format@runner in either run; `regressions` says what got worse beyond the threshold."""
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
        if row.throughput_change_pct is not None and row.throughput_change_pct < -threshold_pct:
            row.regressions.append(f"throughput {row.throughput_change_pct:+.1f}%")
        if row.latency_change_pct is not None and row.latency_change_pct > threshold_pct:
            row.regressions.append(f"p50 latency {row.latency_change_pct:+.1f}%")
        rows.append(row)
    served = _loadtest_row(base, new, threshold_pct)
    if served is not None:
        rows.append(served)
    return rows


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


_TRACKED_PACKAGES = (
    "torch",
    "onnxruntime",
    "onnxruntime-gpu",
    "openvino",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "tensorrt",
    "numpy",
)


def comparability_warnings(base: Status, new: Status) -> list[str]:
    """What differs between the two runs besides the code under test: figures from different
    machines, thread counts, recipes or library versions are not a regression test."""
    warnings = []
    be, ne = base.environment, new.environment
    if base.recipe.name != new.recipe.name:
        warnings.append(f"different recipes: {base.recipe.name} vs {new.recipe.name}")
    elif base.recipe.sha256 != new.recipe.sha256:
        warnings.append("the recipe changed between the runs (different sha256)")
    if (
        base.outputs
        and new.outputs
        and [(t.name, t.shape) for t in base.outputs] != [(t.name, t.shape) for t in new.outputs]
    ):
        warnings.append("the model's outputs differ (names or shapes): a different model?")
    if be.threads != ne.threads:
        warnings.append(f"different thread counts: {be.threads} vs {ne.threads}")
    if be.cpu != ne.cpu:
        warnings.append(f"different CPUs: {be.cpu} vs {ne.cpu}")
    if be.gpu != ne.gpu:
        warnings.append(f"different GPUs: {', '.join(be.gpu) or 'none'} vs {', '.join(ne.gpu) or 'none'}")
    changed = [
        f"{name} {be.packages.get(name, '-')} -> {ne.packages.get(name, '-')}"
        for name in _TRACKED_PACKAGES
        if be.packages.get(name) != ne.packages.get(name)
    ]
    if changed:
        warnings.append("different library versions: " + ", ".join(changed))
    for label, status in (("base", base), ("new", new)):
        if status.profiling.unreliable:
            warnings.append(f"the {label} run's numbers are flagged unreliable: {status.profiling.unreliable}")
    return warnings


def parse_percent(text: str) -> float:
    value = text.strip().removesuffix("%")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"'{text}' is not a percentage such as 5% or 2.5") from None
    if number < 0:
        raise ValueError("a regression threshold cannot be negative")
    return number
