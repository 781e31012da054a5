"""The lines a load test prints: each point as measured, and the answer users came for."""

from __future__ import annotations

from navctl.records.loadtest import LoadPoint, LoadtestInfo, LoadtestRun


def meets(point: LoadPoint, budget_ms: float) -> bool:
    return point.p99_ms is not None and point.p99_ms <= budget_ms and not point.errors and not point.dropped


def point_line(point: LoadPoint) -> str:
    unit = "in flight" if point.mode == "concurrency" else "req/s sent"
    flag = "" if point.stable else " (unstable)"
    split = ""
    if point.server:
        split = f", server queue {point.server.queue_ms:.3g} ms + compute {point.server.compute_ms:.3g} ms"
    return (
        f"{point.level:g} {unit}: {point.throughput:,.1f} infer/s, p50 {point.p50_ms or 0:.3g} ms, "
        f"p99 {point.p99_ms or 0:.3g} ms{split}{flag}"
    )


def within(points: list[LoadPoint], budget_ms: float | None) -> LoadPoint | None:
    if budget_ms is None:
        return None
    passing = [p for p in points if meets(p, budget_ms)]
    return max(passing, key=lambda p: p.throughput) if passing else None


def score(run: LoadtestRun, budget_ms: float | None) -> float:
    if budget_ms is not None:
        return run.within_budget.throughput if run.within_budget else 0.0
    return max((p.throughput for p in run.points if not p.errors), default=0.0)


def answer(info: LoadtestInfo) -> str:
    """The line users came for, printed first, with what each request sent."""
    sent = ", ".join(f"{name} {dims}" for name, dims in info.shapes.items())
    return _answer(info) + (f"; each request sent {sent} ({info.shape_name} shape)" if sent else "")


def _answer(info: LoadtestInfo) -> str:
    budget = info.latency_budget_ms
    if budget is None:
        run = max(info.runs, key=lambda r: score(r, None))
        top = max(run.points, key=lambda p: p.throughput)
        return (
            f"{info.key}: at most {top.throughput:,.1f} infer/s measured (p99 {top.p99_ms or 0:.3g} ms at "
            f"{_level(top)}) with {run.config.describe()}"
        )
    winners = [r for r in info.runs if r.within_budget is not None]
    if not winners:
        seen = [p.p99_ms for r in info.runs for p in r.points if p.p99_ms is not None]
        best_p99 = f"{min(seen):.3g} ms" if seen else "none measured"
        return f"{info.key}: no measured load kept p99 within {budget:g} ms; the lowest p99 seen was {best_p99}"
    run = max(winners, key=lambda r: score(r, budget))
    point = run.within_budget
    assert point is not None
    return (
        f"{info.key}: {point.throughput:,.1f} infer/s within p99 {budget:g} ms (p99 {point.p99_ms:.3g} ms at "
        f"{_level(point)}) with {run.config.describe()}"
    )


def _level(point: LoadPoint) -> str:
    return f"concurrency {point.level:g}" if point.mode == "concurrency" else f"{point.level:g} req/s"
