"""Rows of the results table, computed once and rendered as Rich, Markdown or JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from navctl.plan.registry import SOURCE
from navctl.status import Status


@dataclass
class ResultRow:
    format: str
    runner: str
    correctness: str  # passed | failed | reference | -
    max_abs: float | None
    best_throughput: float | None
    best_batch: int | None
    p50_ms: float | None  # at batch size 1 (or the smallest measured)
    p95_ms: float | None
    speedup: float | None  # best throughput over the source's best on the same device
    stable: bool | None
    selected_by: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


def result_rows(status: Status) -> list[ResultRow]:
    source_best: dict[str, float] = {}
    for result in status.results.values():
        if result.format == SOURCE and result.profile:
            device = result.runner.rsplit("-", 1)[-1]
            source_best[device] = max(r.throughput for r in result.profile)
    rows = []
    for key, result in sorted(status.results.items(), key=lambda kv: (kv[1].format != SOURCE, kv[0])):
        if result.format == SOURCE:
            correctness = "reference"
        elif result.correctness is None:
            correctness = "-"
        else:
            correctness = "passed" if result.correctness.passed else "failed"
        errors = [
            o.max_abs
            for o in (result.correctness.outputs.values() if result.correctness else [])
            if o.max_abs is not None
        ]
        best = max(result.profile, key=lambda r: r.throughput) if result.profile else None
        first = min(result.profile, key=lambda r: r.batch_size) if result.profile else None
        base = source_best.get(result.runner.rsplit("-", 1)[-1])
        rows.append(
            ResultRow(
                format=result.format,
                runner=result.runner,
                correctness=correctness,
                max_abs=max(errors) if errors else None,
                best_throughput=best.throughput if best else None,
                best_batch=best.batch_size if best else None,
                p50_ms=first.p50_ms if first else None,
                p95_ms=first.p95_ms if first else None,
                speedup=(best.throughput / base) if best and base else None,
                stable=all(r.stable for r in result.profile) if result.profile else None,
                selected_by=[s for s, v in status.selection.items() if v == key],
            )
        )
    return rows


def fmt_number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"
