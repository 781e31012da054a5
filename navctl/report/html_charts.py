"""The HTML report's charts for one run, built from its status (and the sizes of its files)."""

from __future__ import annotations

from navctl.plan.registry import SOURCE, step_subject
from navctl.report import svg
from navctl.report.pareto import frontier, operating_points
from navctl.status import Status

# Steps that make a format's files (their id is `<kind>/<format>`).
_MAKING_KINDS = ("export", "convert", "quantize")
_STATE_COLORS = {
    "ok": "#59a14f",
    "cached": "#76b7b2",
    "failed": svg.WARN,
    "timeout": svg.WARN,
    "crashed": "#8b0000",
    "rejected": "#b07aa1",
    "skipped": "#bab0ac",
}


def unreliable_banner(status: Status) -> str:
    why = status.profiling.unreliable
    return f"numbers unreliable: {why}" if why else ""


def _colors(status: Status) -> dict[str, str]:
    return {key: svg.color(i) for i, key in enumerate(sorted(status.results))}


def pareto_chart(status: Status, percentile: str = "p50", small: bool = False) -> str | None:
    """Throughput against latency, one line per format@runner through its batch sizes; the frontier
    of correct candidates drawn under them, the selection ringed, unstable points hollow."""
    points = operating_points(status, percentile)
    if not points:
        return None
    colors = _colors(status)
    series = []
    for key in sorted({p.key for p in points}):
        mine = sorted((p for p in points if p.key == key), key=lambda p: p.batch)
        series.append(
            svg.Series(
                key,
                [
                    svg.Point(
                        p.throughput,
                        p.latency_ms,
                        f"{key} batch {p.batch}: {p.throughput:,.0f}/s, {percentile} {p.latency_ms:.4g} ms"
                        + ("" if p.stable else " (unstable)"),
                        "" if small else str(p.batch),
                        hollow=not p.stable,
                    )
                    for p in mine
                ],
                colors[key],
                dashed=key.startswith(f"{SOURCE}@"),
            )
        )
    best = {p.key: p for p in sorted(points, key=lambda p: p.throughput)}  # each key's fastest point
    marks = []
    for strategy, key in status.selection.items():
        if key in best and not small:
            marks.append(svg.Mark(best[key].throughput, best[key].latency_ms, f"{strategy}: {key}"))
    chart = svg.XY(
        title=f"{percentile} latency against throughput (labels: batch size)",
        x_label="throughput (samples/s)",
        y_label=f"{percentile} latency per request (ms)",
        series=series,
        frontier=[(p.throughput, p.latency_ms) for p in frontier(points)],
        marks=_dedupe(marks),
        banner=unreliable_banner(status) if not small else ("unreliable" if status.profiling.unreliable else ""),
    )
    if small:  # a fleet row's thumbnail: the table's column header says what it shows
        chart.title, chart.x_label, chart.y_label = "", "samples/s", "ms"
        chart.width, chart.height, chart.legend = 300, 170, False
    return svg.xy_chart(chart)


def _dedupe(marks: list[svg.Mark]) -> list[svg.Mark]:
    """One ring per point, labelled with every strategy that chose it (the legend names the format)."""
    merged: dict[tuple[float, float], list[str]] = {}
    for mark in marks:
        merged.setdefault((mark.x, mark.y), []).append(mark.text.split(": ", 1)[0])
    return [svg.Mark(x, y, "selected: " + ", ".join(strategies)) for (x, y), strategies in merged.items()]


def format_sizes(status: Status, files: dict[str, int]) -> dict[str, int]:
    """Bytes of each format's files: the artifacts of the step that made it (a folder counts whole)."""
    sizes: dict[str, int] = {}
    for step_id, record in status.steps.items():
        if record.kind not in _MAKING_KINDS or not record.artifacts:
            continue
        fmt = step_subject(step_id)
        total = 0
        for artifact in record.artifacts:
            prefix = artifact.path.rstrip("/") + "/"
            total += sum(size for path, size in files.items() if path == artifact.path or path.startswith(prefix))
        if total:
            sizes[fmt] = sizes.get(fmt, 0) + total
    return sizes


def memory_chart(status: Status) -> str | None:
    colors = _colors(status)
    bars = [
        svg.Bar(key, r.peak_rss_mb, colors[key], f"{key}: peak resident memory while profiled")
        for key, r in sorted(status.results.items())
        if r.peak_rss_mb
    ]
    if not bars:
        return None
    return svg.bar_chart(
        "peak memory of each runner's process while profiled", bars, "MB", banner=unreliable_banner(status)
    )


def size_chart(status: Status, files: dict[str, int]) -> str | None:
    sizes = format_sizes(status, files)
    if not sizes:
        return None
    unit, scale = next((u, f) for u, f in (("MB", 2**20), ("KB", 2**10), ("bytes", 1)) if max(sizes.values()) >= f)
    bars = [
        svg.Bar(fmt, size / scale, svg.color(i), f"{fmt}: {size:,} bytes", f"{size / scale:.3g} {unit}")
        for i, (fmt, size) in enumerate(sorted(sizes.items()))
    ]
    spread = max(sizes.values()) > 20 * min(sizes.values())
    return svg.bar_chart("artifact size per format", bars, unit, log=spread, banner=unreliable_banner(status))


def timeline_chart(status: Status) -> tuple[str | None, str]:
    """Where the wall time went: a span per step from when it began; (chart, a note on how it was laid)."""
    ran = [(k, r) for k, r in status.steps.items() if r.state not in ("unavailable", "pending") and r.duration_s]
    if not ran:
        return None, ""
    note = ""
    if all(r.started_s is not None for _, r in ran):
        ran.sort(key=lambda kv: (kv[1].started_s, kv[0]))
        starts = [r.started_s or 0.0 for _, r in ran]
    else:  # a run recorded before steps kept their start: laid end to end, in plan order
        note = "this run did not record when its steps began: they are laid end to end in plan order"
        starts, clock = [], 0.0
        for _, r in ran:
            starts.append(clock)
            clock += r.duration_s or 0.0
    spans = []
    for (step_id, record), start in zip(ran, starts, strict=True):
        reused = record.state == "cached"
        spans.append(
            svg.Span(
                step_id,
                start,
                0.0 if reused else record.duration_s or 0.0,
                _STATE_COLORS.get(record.state, "#888"),
                f"{step_id}: {record.state}, "
                + ("reused from an earlier run" if reused else f"{record.duration_s:.2f} s from {start:.2f} s"),
            )
        )
    title = f"{status.recipe.name}: steps over the run's wall time"
    return svg.gantt(title, spans, banner=unreliable_banner(status)), note


def loadtest_chart(status: Status) -> str | None:
    info = status.loadtest
    if info is None or not info.runs:
        return None
    series = []
    for i, run in enumerate(info.runs):
        points = sorted((p for p in run.points if p.p99_ms is not None), key=lambda p: p.throughput)
        series.append(
            svg.Series(
                run.config.describe() + (" (best)" if run.config == info.best else ""),
                [
                    svg.Point(
                        p.throughput,
                        p.p99_ms or 0.0,
                        f"{p.level:g} {'in flight' if p.mode == 'concurrency' else 'req/s'}: "
                        f"{p.throughput:,.0f} infer/s, p99 {p.p99_ms:.4g} ms",
                        f"{p.level:g}",
                        hollow=not p.stable,
                    )
                    for p in points
                ],
                svg.color(i),
            )
        )
    budget = (info.latency_budget_ms, f"budget {info.latency_budget_ms:g} ms") if info.latency_budget_ms else None
    chart = svg.XY(
        title=f"{info.key} under load ({info.driver}, labels: load level)",
        x_label="throughput (infer/s)",
        y_label="p99 latency at the client (ms)",
        series=series,
        log_x=False,
        log_y=False,
        hline=budget,
        banner=unreliable_banner(status),
    )
    return svg.xy_chart(chart)
