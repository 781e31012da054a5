"""Charts as inline SVG text, drawn here so the HTML report needs no library, no script and no network.

Three shapes cover the report: points and lines on linear or log axes (`xy_chart`), horizontal bars
(`bar_chart`) and a timeline of spans (`gantt`). Every chart can carry a banner (the run's numbers are
unreliable) and every mark a tooltip (`<title>`, shown by the browser on hover).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

# Tableau 10: distinct for most colour-blind readers, and on white and grey alike.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")
WARN = "#c0392b"
FONT = 'font-family="system-ui, sans-serif"'


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass
class Scale:
    lo: float
    hi: float
    start: float  # pixels
    end: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.log:
            self.lo, self.hi = max(self.lo, 1e-12), max(self.hi, 1e-12)
        if self.hi <= self.lo:  # one value: give it room either side
            pad = abs(self.lo) * 0.5 or 1.0
            self.lo, self.hi = (self.lo / 2, self.hi * 2) if self.log else (self.lo - pad, self.hi + pad)

    def _t(self, value: float) -> float:
        return math.log10(max(value, 1e-12)) if self.log else value

    def __call__(self, value: float) -> float:
        lo, hi = self._t(self.lo), self._t(self.hi)
        return self.start + (self._t(value) - lo) / (hi - lo) * (self.end - self.start)

    def ticks(self) -> list[float]:
        if self.log:
            first, last = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            steps = (1, 2, 5) if last - first <= 2 else (1,)
            values = [m * 10.0**e for e in range(first, last + 1) for m in steps]
        else:
            raw = (self.hi - self.lo) / 5
            step = 10 ** math.floor(math.log10(raw))
            step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
            values = [i * step for i in range(math.floor(self.lo / step), math.ceil(self.hi / step) + 1)]
        return [v for v in values if self.lo * 0.999 <= v <= self.hi * 1.001]


def number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _svg(width: int, height: int, title: str, body: list[str], banner: str) -> str:
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" {FONT} font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="8" y="18" font-size="14" font-weight="600">{escape(title)}</text>' if title else "",
    ]
    if banner:
        y = 24 if title else 0
        head.append(
            f'<rect x="0" y="{y}" width="{width}" height="20" fill="{WARN}" opacity="0.12"/>'
            f'<text x="8" y="{y + 14}" fill="{WARN}" font-weight="600">{escape(banner)}</text>'
        )
    return "\n".join(head + body + ["</svg>"])


@dataclass
class Point:
    x: float
    y: float
    tip: str = ""
    label: str = ""
    hollow: bool = False  # an unstable measurement


@dataclass
class Series:
    name: str
    points: list[Point]
    color: str
    dashed: bool = False


@dataclass
class Mark:
    """A point called out on top of the series: the selection, with its label."""

    x: float
    y: float
    text: str


@dataclass
class XY:
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    log_x: bool = True
    log_y: bool = True
    frontier: list[tuple[float, float]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    hline: tuple[float, str] | None = None  # a limit (a latency budget) and its label
    banner: str = ""
    width: int = 900
    height: int = 420
    legend: bool = True


def _span(values: list[float], log: bool) -> tuple[float, float]:
    """An axis's range around the values: a quarter beyond them on log axes, from 0 on linear ones."""
    if log:
        positive = [v for v in values if v > 0] or [1.0]
        return min(positive) / 1.25, max(positive) * 1.25
    return 0.0, max(values) * 1.1


def xy_chart(chart: XY) -> str:
    top = (56 if chart.banner else 36) if chart.title else (30 if chart.banner else 10)
    # the legend takes what its longest name needs, and the chart grows by as much: names are never cut
    legend_w = 34 + 7 * max((len(s.name) for s in chart.series), default=0) if chart.legend else 0
    if chart.legend:
        chart.width += max(0, legend_w - 190)
    left, right, bottom = 64, chart.width - 16 - legend_w, chart.height - 44
    xs = [p.x for s in chart.series for p in s.points] or [1.0]
    ys = [p.y for s in chart.series for p in s.points] + ([chart.hline[0]] if chart.hline else []) or [1.0]
    sx = Scale(*_span(xs, chart.log_x), left, right, chart.log_x)
    sy = Scale(*_span(ys, chart.log_y), bottom, top, chart.log_y)
    body = [f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="#fafafa" stroke="#ccc"/>']
    for tick in sx.ticks():
        x = sx(tick)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#e6e6e6"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{number(tick)}</text>')
    for tick in sy.ticks():
        y = sy(tick)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e6e6e6"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{number(tick)}</text>')
    body.append(
        f'<text x="{(left + right) / 2}" y="{chart.height - 8}" text-anchor="middle">{escape(chart.x_label)}</text>'
    )
    body.append(
        f'<text transform="translate(14 {(top + bottom) / 2}) rotate(-90)" text-anchor="middle">'
        f"{escape(chart.y_label)}</text>"
    )
    if chart.hline:
        y = sy(chart.hline[0])
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#777" stroke-dasharray="2 3"/>')
        body.append(
            f'<text x="{right - 4}" y="{y - 4:.1f}" text-anchor="end" fill="#555">{escape(chart.hline[1])}</text>'
        )
    if chart.frontier:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in chart.frontier)
        body.append(
            f'<polyline class="frontier" points="{path}" fill="none" stroke="#222" stroke-width="7" '
            'stroke-opacity="0.18" stroke-linejoin="round" stroke-linecap="round"><title>Pareto frontier: no other '
            "point is both faster and quicker to answer</title></polyline>"
        )
    for series in chart.series:
        body += _series(series, sx, sy)
    for mark in chart.marks:
        x, y = sx(mark.x), sy(mark.y)
        # labels go towards the middle of the plot, so that none runs off its edge
        anchor, dx = ("end", -13) if x > (left + right) / 2 else ("start", 13)
        body.append(
            f'<g class="selected"><circle cx="{x:.1f}" cy="{y:.1f}" r="10" fill="none" stroke="#222" stroke-width="2"/>'
            f'<text x="{x + dx:.1f}" y="{y - 12:.1f}" text-anchor="{anchor}" font-weight="600" '
            'paint-order="stroke" stroke="#fff" stroke-width="4">'
            f"{escape(mark.text)}</text>"
            f"<title>{escape(mark.text)}</title></g>"
        )
    if chart.legend:
        body += _legend(chart.series, right + 14, top)
    return _svg(chart.width, chart.height, chart.title, body, chart.banner)


def _series(series: Series, sx: Scale, sy: Scale) -> list[str]:
    out = []
    if len(series.points) > 1:
        path = " ".join(f"{sx(p.x):.1f},{sy(p.y):.1f}" for p in series.points)
        dash = ' stroke-dasharray="6 4"' if series.dashed else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{series.color}" stroke-width="1.8"{dash}/>')
    for p in series.points:
        fill = "#fff" if p.hollow else series.color
        out.append(
            f'<circle cx="{sx(p.x):.1f}" cy="{sy(p.y):.1f}" r="4" fill="{fill}" stroke="{series.color}" '
            f'stroke-width="1.6"><title>{escape(p.tip)}</title></circle>'
        )
        if p.label:
            out.append(
                f'<text x="{sx(p.x) + 5:.1f}" y="{sy(p.y) + 13:.1f}" font-size="10" fill="{series.color}">'
                f"{escape(p.label)}</text>"
            )
    return out


def _legend(series: list[Series], x: float, y: float) -> list[str]:
    out = []
    for i, s in enumerate(series):
        row = y + 8 + i * 18
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        out.append(f'<line x1="{x}" y1="{row}" x2="{x + 18}" y2="{row}" stroke="{s.color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{x + 24}" y="{row + 4}">{escape(s.name)}</text>')
    return out


@dataclass
class Bar:
    label: str
    value: float
    color: str = PALETTE[0]
    tip: str = ""
    text: str = ""  # shown at the bar's end (default: the value)


def bar_chart(
    title: str, bars: list[Bar], unit: str, *, log: bool = False, limit: float | None = None, banner: str = "",
    width: int = 600,
) -> str:  # fmt: skip
    """Horizontal bars, one per label; `limit` draws a vertical line (a tolerance) across them."""
    top = 56 if banner else 36
    label_w = min(320, 12 + 7 * max((len(b.label) for b in bars), default=4))
    left, right = label_w, width - 90
    height = top + 22 * max(len(bars), 1) + 34
    values = [b.value for b in bars if b.value > 0] + ([limit] if limit else [])
    lo = min(values, default=1.0) / 2 if log else 0.0
    scale = Scale(lo, max(values, default=1.0) * (2 if log else 1.05), left, right, log)
    body = []
    for tick in scale.ticks():
        x = scale(tick)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 30}" stroke="#eee"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle" font-size="10">{number(tick)}</text>')
    for i, bar in enumerate(bars):
        y = top + 4 + i * 22
        end = scale(bar.value) if bar.value > 0 else left
        body.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(bar.label)}</text>')
        body.append(
            f'<rect x="{left}" y="{y}" width="{max(end - left, 1):.1f}" height="16" fill="{bar.color}">'
            f"<title>{escape(bar.tip or bar.label)}</title></rect>"
        )
        body.append(f'<text x="{end + 4:.1f}" y="{y + 13}">{escape(bar.text or number(bar.value) + " " + unit)}</text>')
    if limit:
        x = scale(limit)
        body.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 30}" stroke="{WARN}" stroke-dasharray="4 3"/>'
        )
    return _svg(width, height, title, body, banner)


@dataclass
class Span:
    label: str
    start: float
    duration: float
    color: str
    tip: str = ""


def gantt(title: str, spans: list[Span], *, banner: str = "", width: int = 1000) -> str:
    """Spans on a time axis (seconds), one row each, in the order given."""
    top = 56 if banner else 36
    label_w = min(340, 12 + 7 * max((len(s.label) for s in spans), default=4))
    left, right = label_w, width - 70
    height = top + 16 * max(len(spans), 1) + 40
    end = max((s.start + s.duration for s in spans), default=1.0)
    scale = Scale(0.0, end or 1.0, left, right)
    body = []
    for tick in scale.ticks():
        x = scale(tick)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 34}" stroke="#eee"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 20}" text-anchor="middle" font-size="10">{number(tick)} s</text>')
    for i, span in enumerate(spans):
        y = top + 2 + i * 16
        x0, x1 = scale(span.start), scale(span.start + span.duration)
        body.append(f'<text x="{left - 6}" y="{y + 10}" text-anchor="end" font-size="11">{escape(span.label)}</text>')
        body.append(
            f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 2):.1f}" height="12" fill="{span.color}">'
            f"<title>{escape(span.tip or span.label)}</title></rect>"
        )
    return _svg(width, height, title, body, banner)
