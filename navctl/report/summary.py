"""Rows of the results table, computed once and rendered as Rich, Markdown or JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from navctl.generation.selection import STRATEGIES as GENERATION_STRATEGIES
from navctl.plan.registry import SOURCE, device_of, is_reduced
from navctl.report.shape_rows import ShapeFigures, other_shapes, primary_label
from navctl.status import Status


@dataclass
class ResultRow:
    format: str
    runner: str
    correctness: str  # passed | failed | rejected (missed a reduced-precision gate) | reference | -
    max_abs: float | None
    best_throughput: float | None
    best_batch: int | None
    p50_ms: float | None  # at latency_batch, the smallest batch size measured
    p95_ms: float | None
    speedup: float | None  # throughput over the source's at the best batch size, measured side by side
    stable: bool | None
    selected_by: list[str]
    latency_batch: int | None = None
    peak_rss_mb: float | None = None  # the runner's process while profiled
    precision: str = "fp32"
    cosine: float | None = None  # the lowest over the outputs
    top1: float | None = None  # the lowest over the outputs that look like class scores
    top1_baseline: float | None = None  # the highest share of one reference class (where top-1 gates)
    proves_little: bool = False  # passed, but the check (or the verify function) proves little
    # the raw figures' ratio at the same batch size, kept when it disagrees with `speedup` (the source
    # and this runner were measured at different moments of a machine whose speed drifted)
    raw_speedup: float | None = None
    shape: str = ""  # the shape the figures above are at (selection.shape), when shapes were profiled
    other_shapes: list[ShapeFigures] = field(default_factory=list)  # the other profiled shapes' figures

    def as_dict(self) -> dict:
        return asdict(self)


def result_rows(status: Status) -> list[ResultRow]:
    source_at: dict[tuple[str, int], float] = {}  # (device, batch size) -> the source's throughput
    for result in status.results.values():
        if result.format == SOURCE and result.profile:
            device = device_of(result.runner)
            source_at.update({(device, r.batch_size): r.throughput for r in result.profile})
    rows = []
    for key, result in sorted(status.results.items(), key=lambda kv: (kv[1].format != SOURCE, kv[0])):
        if result.format == SOURCE:
            correctness = "reference"
        elif result.correctness is None:
            correctness = "-"
        elif result.correctness.passed:
            correctness = "passed"
        else:
            correctness = "rejected" if is_reduced(result.correctness.precision) else "failed"
        outputs = list(result.correctness.outputs.values()) if result.correctness else []
        cosines = [o.cosine for o in outputs if o.cosine is not None]
        top1s = [o.top1 for o in outputs if o.top1 is not None]
        baselines = [o.top1_baseline for o in outputs if o.top1_baseline is not None]
        weak = bool(result.correctness and result.correctness.proves_little) or bool(
            result.verify and result.verify.proves_little
        )
        errors = [
            o.max_abs
            for o in (result.correctness.outputs.values() if result.correctness else [])
            if o.max_abs is not None
        ] + [b.max_abs for b in (result.correctness.bounds if result.correctness else []) if b.max_abs is not None]
        best = max(result.profile, key=lambda r: r.throughput) if result.profile else None
        first = min(result.profile, key=lambda r: r.batch_size) if result.profile else None
        device = device_of(result.runner)
        raw_speedup = None
        if best is not None and best.vs_reference is not None:
            speedup = best.vs_reference  # the same batch size, the same rounds: drift cancels out
            raw_speedup = _disagreeing(speedup, best.throughput, source_at.get((device, best.batch_size)))
        else:  # at the same batch size or not at all: the source's best at another size is no baseline
            same = source_at.get((device, best.batch_size)) if best else None
            speedup = best.throughput / same if best and same else None
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
                speedup=speedup,
                latency_batch=first.batch_size if first else None,
                peak_rss_mb=result.peak_rss_mb,
                stable=all(r.stable for r in result.profile) if result.profile else None,
                # a decoder's strategies pick its decode step: the generation table says so, beside its check
                selected_by=[s for s, v in status.selection.items() if v == key and s not in GENERATION_STRATEGIES],
                precision=result.correctness.precision if result.correctness else "fp32",
                cosine=min(cosines) if cosines else None,
                top1=min(top1s) if top1s else None,
                top1_baseline=max(baselines) if baselines else None,
                proves_little=weak and correctness == "passed",
                raw_speedup=raw_speedup,
                shape=primary_label(status, result),
                other_shapes=other_shapes(status, result),
            )
        )
    return rows


# A same-round ratio and the raw figures' ratio further apart than this factor are both shown.
RAW_DISAGREES = 1.25


def _disagreeing(speedup: float, throughput: float, source: float | None) -> float | None:
    raw = throughput / source if source else None
    if raw is None or speedup <= 0 or max(raw / speedup, speedup / raw) <= RAW_DISAGREES:
        return None
    return raw


def accuracy_cell(row: ResultRow) -> str:
    """Cosine and top-1 agreement with the source, shown for reduced-precision rows (where they gate)."""
    if not is_reduced(row.precision):
        return "-"
    parts = []
    if row.cosine is not None:
        parts.append(f"cos {row.cosine:.4f}")
    if row.top1 is not None:
        # beside a majority class, top-1 agreement means little: show what always answering it scores
        majority = f" (baseline {row.top1_baseline:.0%})" if row.top1_baseline and row.top1_baseline >= 0.5 else ""
        parts.append(f"top-1 {row.top1:.1%}{majority}")
    return ", ".join(parts) or "-"


def fmt_number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def latency_header(rows: list[ResultRow]) -> str:
    """' @1' when every row's latency is at one batch size (the usual case), else ''."""
    batches = {r.latency_batch for r in rows if r.latency_batch is not None}
    return f" @{batches.pop()}" if len(batches) == 1 else ""


def result_columns(rows: list[ResultRow]) -> list[tuple[str, str]]:
    """(header, justify) of the results table, in the order of `row_cells`."""
    lat = latency_header(rows)
    accuracy = [("accuracy", "left")] if shows_accuracy(rows) else []
    return [
        ("format", "left"),
        ("runner", "left"),
        *([("shape", "left")] if shows_shapes(rows) else []),
        *([("prec.", "left")] if accuracy else []),
        ("correct", "left"),
        ("max abs err", "right"),
        *accuracy,
        ("best thr. (/s)", "right"),
        ("@batch", "right"),
        (f"p50 ms{lat}", "right"),
        (f"p95 ms{lat}", "right"),
        ("speedup", "right"),
        ("peak MB", "right"),
        ("selected", "left"),
    ]


def shows_accuracy(rows: list[ResultRow]) -> bool:
    """Precision and accuracy columns appear when a reduced-precision candidate is among the rows."""
    return any(is_reduced(r.precision) for r in rows)


def shows_shapes(rows: list[ResultRow]) -> bool:
    """A shape column, and a line per other shape under each runner, when more than one shape was profiled."""
    return any(r.other_shapes for r in rows)


def row_cells(row: ResultRow, accuracy: bool = False, shapes: bool = False) -> list[str]:
    """One row's figures as text, the same in every rendering (`accuracy`: see `shows_accuracy`;
    `shapes`: see `shows_shapes`)."""
    return [
        row.format,
        row.runner,
        *([row.shape] if shapes else []),
        *([row.precision] if accuracy else []),
        row.correctness + (" (weak)" if row.proves_little else ""),
        fmt_number(row.max_abs, 2),
        *([accuracy_cell(row)] if accuracy else []),
        fmt_number(row.best_throughput),
        str(row.best_batch or "-"),
        fmt_number(row.p50_ms),
        fmt_number(row.p95_ms),
        _speedup_cell(row),
        f"{row.peak_rss_mb:,.0f}" if row.peak_rss_mb else "-",
        ", ".join(row.selected_by) + (" (unstable)" if row.stable is False else ""),
    ]


def _speedup_cell(row: ResultRow) -> str:
    if not row.speedup:
        return "-"
    return f"{row.speedup:.2f}x" + (f" (raw {row.raw_speedup:.2f}x)" if row.raw_speedup else "")


def shape_cells(row: ResultRow, figures: ShapeFigures, accuracy: bool = False) -> list[str]:
    """A runner's figures at another shape, under its row: only the shape's own columns are filled."""
    batch = "" if figures.latency_batch == row.latency_batch else f" @{figures.latency_batch}"
    return [
        "",
        "",
        figures.shape,
        *([""] if accuracy else []),
        "",
        "",
        *([""] if accuracy else []),
        fmt_number(figures.best_throughput),
        str(figures.best_batch),
        fmt_number(figures.p50_ms) + batch,
        fmt_number(figures.p95_ms) + batch,
        f"{figures.speedup:.2f}x" if figures.speedup else "-",
        "",
        "" if figures.stable else "(unstable)",
    ]


def table_lines(rows: list[ResultRow]) -> list[tuple[ResultRow, list[str], bool]]:
    """(row, cells, is a shape line) for every line of the results table, in every rendering."""
    accuracy, shapes = shows_accuracy(rows), shows_shapes(rows)
    lines = []
    for row in rows:
        lines.append((row, row_cells(row, accuracy, shapes), False))
        lines += [(row, shape_cells(row, f, accuracy), True) for f in row.other_shapes]
    return lines


def run_document(outcome) -> dict:
    """A run's `--json` document (also one fleet row's run)."""
    status = outcome.status
    return {
        "exit_code": outcome.exit_code,
        "workspace": str(outcome.workspace),
        "package": str(outcome.package) if outcome.package else None,
        "selection": status.selection,
        "results": [r.as_dict() for r in result_rows(status)],
        "status": status.model_dump(mode="json"),
    }
