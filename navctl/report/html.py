"""`navctl report`'s report.html: one self-contained page (inline CSS and SVG, no script, nothing
fetched), for one run or a fleet of them (a row per model, then each model's full report)."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from navctl import __version__
from navctl.generation.report import GENERATION_NOTE, generation_rows
from navctl.plan.registry import SOURCE, is_reduced, result_key
from navctl.report import html_charts as charts
from navctl.report.github import failures, log_tail
from navctl.report.notes import run_notes
from navctl.report.sources import ReportSource
from navctl.report.summary import result_columns, result_rows, table_lines
from navctl.status import Status

HTML_FILE = "report.html"

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1240px;padding:16px 24px;color:#222}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}
.banner{background:#fdecea;border:1px solid #c0392b;color:#922;padding:8px 12px;font-weight:600;margin:8px 0}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:4px 10px;margin:4px 0}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c0392b;font-weight:600}.warn{color:#b26a00;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{border:1px solid #eee;max-width:100%;height:auto}
pre{background:#f6f6f6;padding:8px;overflow:auto;max-height:320px;font-size:12px}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
"""


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    """Cells are HTML already (escape text before)."""
    numeric = numeric or set()
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _verdict(text: str) -> str:
    css = {"passed": "ok", "reference": "muted", "failed": "bad", "rejected": "warn"}.get(text, "")
    return f'<span class="{css}">{escape(text)}</span>' if css else escape(text)


def _results(status: Status) -> str:
    rows = result_rows(status)
    if not rows:
        return "<p>No format produced results in this run.</p>"
    columns = result_columns(rows)
    correct = [name for name, _ in columns].index("correct")
    cells = []
    for row, line, shape_line in table_lines(rows):
        texts = [escape(c) for c in line]
        if not shape_line:  # a line per other profiled shape holds that shape's figures only
            texts[correct] = _verdict(row.correctness) + (" (weak)" if getattr(row, "proves_little", False) else "")
        cells.append(texts)
    numeric = {i for i, (_, justify) in enumerate(columns) if justify == "right"}
    return _table([name for name, _ in columns], cells, numeric)


def _ratio_bar(ratio: float | None, passed: bool) -> str:
    """Error over tolerance on a log scale from 1e-4 to 10; the line at 1 is the tolerance."""
    if ratio is None:
        return ""
    lo, hi, width = -4.0, 1.0, 160
    x = (min(max(math.log10(max(ratio, 1e-12)), lo), hi) - lo) / (hi - lo) * width
    one = (0 - lo) / (hi - lo) * width
    fill = "#59a14f" if passed else "#c0392b"
    return (
        f'<svg width="{width}" height="14" viewBox="0 0 {width} 14"><rect width="{width}" height="14" fill="#f1f1f1"/>'
        f'<rect width="{max(x, 1):.1f}" height="14" fill="{fill}"/><line x1="{one:.1f}" y1="0" x2="{one:.1f}" y2="14" '
        f'stroke="#222" stroke-width="2"/><title>error is {ratio:.3g} of the tolerance</title></svg>'
    )


def _flags(output) -> list[str]:
    """Why a pass may prove little: a constant or tiny reference, or an error that is a large share of
    what the input changes (`proves_little`, `input_spread`; getattr: runs recorded before them lack them)."""
    flags = [escape(output.warning)] if output.warning else []
    if getattr(output, "proves_little", False):
        spread = getattr(output, "input_spread", None)
        share = getattr(output, "error_to_input_spread", None)
        figures = [f"input spread {spread:.3g}"] if isinstance(spread, float) else []
        figures += [f"error {share:.2g} of it"] if isinstance(share, float) else []
        flags.append("proves little" + (f" ({', '.join(figures)})" if figures else ""))
    return flags


def _correctness(status: Status) -> str:
    rows = []
    for key, result in sorted(status.results.items()):
        c = result.correctness
        if result.format == SOURCE or c is None:
            continue
        for name, o in c.outputs.items():
            allowed = None
            if o.atol is not None:
                allowed = o.atol + (o.rtol or 0.0) * (o.ref_max_abs or 0.0)
            ratio = o.max_abs / allowed if o.max_abs is not None and allowed else None
            reduced = is_reduced(c.precision)
            flags = _flags(o)
            rows.append(
                [
                    escape(key),
                    escape(name),
                    escape(c.precision),
                    _verdict("passed" if o.passed else ("rejected" if reduced else "failed")),
                    _fmt(o.max_abs),
                    _fmt(allowed),
                    _ratio_bar(ratio, o.passed),
                    _fmt(o.cosine, 6) if o.cosine is not None else "-",
                    f"{o.top1:.1%}" if o.top1 is not None else "-",
                    escape(c.gate) if reduced else "",
                    '<span class="warn">' + "; ".join(flags) + "</span>" if flags else "",
                ]
            )
    if not rows:
        return "<p>No correctness check ran.</p>"
    headers = ["format@runner", "output", "prec.", "verdict", "max abs err", "tolerance (atol + rtol·max|ref|)"]
    headers += ["error / tolerance", "cosine", "top-1", "gate", "means little?"]
    return _table(headers, rows, {4, 5})


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _failures(source: ReportSource) -> str:
    found = failures(source.status, [])
    if not found:
        return ""
    parts = ["<h3>What failed</h3>"]
    for f in found:
        effect = "fails the run" if f.counts else "does not fail the run"
        tail = f"<pre>{escape(log_tail(source.workspace, f.log))}</pre>" if source.workspace else ""
        parts.append(
            f"<details><summary>{escape(f.step_id)}: {escape(f.state)} ({effect})</summary>"
            f"<p>{escape(f.reason)}</p>{tail}</details>"
        )
    return "".join(parts)


def _environment(status: Status) -> str:
    env, run = status.environment, status.run
    facts = [
        ("recipe", f"{status.recipe.name} ({status.recipe.path}, sha256 {status.recipe.sha256[:12]})"),
        ("run", f"{run.state}, exit code {run.exit_code}, device {run.device}, {run.started_at} to {run.finished_at}"),
        ("navctl", status.tool.version),
        ("python", env.python),
        ("platform", env.platform),
        ("CPU", f"{env.cpu}, {env.threads} thread(s) per runner"),
        ("GPU", ", ".join(env.gpu) or "none"),
        ("profiling", _profiling_line(status)),
    ]
    rows = [[escape(k), escape(v)] for k, v in facts]
    rows += [[escape(name), escape(version)] for name, version in sorted(env.packages.items())]
    return _table([], rows)


def _profiling_line(status: Status) -> str:
    p = status.profiling
    drift = f", reference drift {p.drift_pct:+.1f}%" if p.drift_pct is not None else ""
    load = f", other processes busy on {p.other_cores:.2f} of {p.cores} cores" if p.other_cores is not None else ""
    how = "side by side in rounds" if p.interleaved else "one runner at a time"
    return f"{how}; {p.unstable_points} of {p.points} points unstable{drift}{load}"


def _charts(*svgs: str | None) -> str:
    shown = [s for s in svgs if s]
    return f'<div class="charts">{"".join(shown)}</div>' if shown else "<p class='muted'>Nothing was profiled.</p>"


def run_section(source: ReportSource) -> str:
    status = source.status
    parts = []
    if status.profiling.unreliable:
        parts.append(f'<div class="banner">{escape(charts.unreliable_banner(status))}</div>')
    parts.append("<h3>Results</h3>" + _results(status))
    columns, generation = generation_rows(status)
    if generation:
        cells = [[escape(c) for c in row] for row in generation]
        parts.append(f"<h3>Generation</h3><p class='muted'>{escape(GENERATION_NOTE)}</p>")
        parts.append(_table(columns, cells, set(range(2, len(columns)))))
    parts += [f'<div class="note">{escape(note)}</div>' for note in run_notes(status)]
    chosen = "; ".join(f"{k}: <b>{escape(v or 'none')}</b>" for k, v in status.selection.items())
    parts.append(f"<p>Selection: {chosen or 'none'}</p>")
    parts.append(_failures(source))
    parts.append("<h3>Throughput against latency</h3>")
    parts.append(
        "<p class='muted'>Each line is a format on a runner through its batch sizes; the grey band is the Pareto "
        "frontier of correct candidates (nothing else is both faster and quicker), rings mark the selection, "
        "hollow points were unstable. The source model (dashed) is the reference, never a candidate.</p>"
    )
    parts.append(_charts(charts.pareto_chart(status, "p50"), charts.pareto_chart(status, "p99")))
    parts.append("<h3>Correctness</h3>" + _correctness(status))
    parts.append(
        "<h3>Memory and size</h3>" + _charts(charts.memory_chart(status), charts.size_chart(status, source.files))
    )
    timeline, note = charts.timeline_chart(status)
    parts.append("<h3>Where the time went</h3>" + (f"<p class='muted'>{escape(note)}</p>" if note else ""))
    parts.append(_charts(timeline))
    if status.loadtest is not None:
        parts.append(
            f"<h3>Load test</h3><p>{escape(status.loadtest.answer)}</p>" + _charts(charts.loadtest_chart(status))
        )
    parts.append("<h3>Environment</h3>" + _environment(status))
    return "\n".join(parts)


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><h1>{escape(title)}</h1>{body}<p class='muted'>navctl {__version__}</p></body></html>\n"
    )


def single_page(source: ReportSource) -> str:
    return _page(f"navctl report: {source.name}", run_section(source))


def _fleet_row(source: ReportSource, anchor: str) -> list[str]:
    status = source.status
    rows = {result_key(r.format, r.runner): r for r in result_rows(status)}
    counted = failures(status, [])

    def choice(strategy: str) -> str:
        key = status.selection.get(strategy)
        if not key:
            return "-"
        speedup = rows[key].speedup if key in rows else None
        return escape(key) + (f" ({speedup:.2f}x)" if speedup else "")

    failed = sum(1 for f in counted if f.counts)
    state = f"{status.run.state}, exit {status.run.exit_code}"
    flags = ['<span class="bad">numbers unreliable</span>'] if status.profiling.unreliable else []
    if failed:
        flags.append(f'<span class="bad">{failed} failed</span>')
    return [
        f'<a href="#{anchor}">{escape(source.name)}</a>',
        escape(state) + ("<br>" + " ".join(flags) if flags else ""),
        choice("max-throughput"),
        choice("min-latency"),
        charts.pareto_chart(status, "p50", small=True) or "<span class='muted'>not profiled</span>",
    ]


def fleet_page(sources: list[ReportSource]) -> str:
    anchors = [f"model-{i}" for i in range(len(sources))]
    table = _table(
        ["model", "run", "max-throughput", "min-latency", "latency against throughput"],
        [_fleet_row(s, a) for s, a in zip(sources, anchors, strict=True)],
    )
    sections = [
        f'<details id="{a}"><summary>{escape(s.name)} ({escape(str(s.where))})</summary>{run_section(s)}</details>'
        for s, a in zip(sources, anchors, strict=True)
    ]
    return _page(f"navctl report: {len(sources)} models", table + "<h2>Models</h2>" + "".join(sections))


def write_html(sources: list[ReportSource], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / HTML_FILE
    text = single_page(sources[0]) if len(sources) == 1 else fleet_page(sources)
    path.write_text(text, encoding="utf-8")
    return path
