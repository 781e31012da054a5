"""Tables and JSON documents of the read-only commands (`inspect`, `diff`), built here so commands stay
thin: parse, one call, render."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from navctl.contract.shapes import ranges_text, symbolic_shape
from navctl.records.loadtest import LoadtestInfo
from navctl.report.diff import DiffRow
from navctl.report.loadtest_rows import LOADTEST_COLUMNS, loadtest_cells
from navctl.report.summary import fmt_number
from navctl.status import Status

_NOT_MODEL_FILES = ("steps/", "model_input/", "model_output/")


def inspect_document(status: Status, files: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "recipe": status.recipe.model_dump(),
        "tool": status.tool.model_dump(),
        "environment": status.environment.model_dump(),
        "inputs": [t.model_dump() for t in status.inputs],
        "outputs": [t.model_dump() for t in status.outputs],
        "selection": status.selection,
        "files": [{"path": p, "bytes": n} for p, n in files],
    }


def inspect_view(package: str, status: Status, files: list[tuple[str, int]]) -> Group:
    env = status.environment
    threads = f"{env.threads} thread{'s' if env.threads != 1 else ''}"
    head = Text(
        f"package {package}: recipe {status.recipe.name}, made by navctl {status.tool.version} "
        f"on {env.platform} ({env.cpu}, {threads})"
    )
    signature = Table(title="model signature", title_justify="left")
    for col in ("", "name", "dtype", "shape", "ranges"):
        signature.add_column(col)
    for kind, tensors in (("input", status.inputs), ("output", status.outputs)):
        for t in tensors:
            signature.add_row(kind, t.name, t.dtype, symbolic_shape(t), ranges_text(t) if kind == "input" else "")
    models = Table(title="files (models and their artifacts)", title_justify="left")
    models.add_column("path")
    models.add_column("bytes", justify="right")
    for path, size in files:
        if not path.startswith(_NOT_MODEL_FILES):
            models.add_row(path, f"{size:,}")
    chosen = [Text(f"selected for {k}: {v or 'none'}") for k, v in status.selection.items()]
    return Group(head, signature, models, *chosen)


def diff_document(threshold: float, rows: list[DiffRow], warnings: list[str], verdict_note: str = "") -> dict[str, Any]:
    return {
        "threshold_pct": threshold,
        "rows": [r.as_dict() for r in rows],
        "regressions": sum(1 for r in rows if r.regressions),
        "warnings": warnings,
        "verdict_note": verdict_note,
    }


DIFF_COLUMNS = (
    "format@runner",
    "correct",
    "best thr. base",
    "new",
    "change",
    "vs source base",
    "new",
    "change",
    "p50 ms base",
    "new",
    "change",
    "regression",
)


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def diff_cells(row: DiffRow) -> list[str]:
    """One diff row as text, the same in the terminal and in the GitHub step summary."""
    at = f" @{row.speed_batch}" if row.speed_batch else ""
    verdict = "; ".join(row.regressions)
    if row.caveats:
        verdict += (" | " if verdict else "") + "; ".join(row.caveats)
    return [
        row.key,
        f"{_yes(row.base_correct)} -> {_yes(row.new_correct)}",
        fmt_number(row.base_throughput),
        fmt_number(row.new_throughput),
        _pct(row.throughput_change_pct),
        "reference" if row.basis == "reference" else _times(row.base_vs_source) + at,
        "" if row.basis == "reference" else _times(row.new_vs_source),
        _pct(row.vs_source_change_pct),
        fmt_number(row.base_latency_ms),
        fmt_number(row.new_latency_ms),
        _pct(row.latency_change_pct),
        verdict,
    ]


def diff_verdict(threshold: float, rows: list[DiffRow], basis: str, verdict_note: str = "") -> str:
    regressed = sum(1 for r in rows if r.regressions)
    compared = (
        "speeds against the source model measured in the same rounds; raw figures shown beside"
        if basis == "relative"
        else "raw figures"
    )
    line = f"{regressed} regression(s) beyond {threshold:g}% ({compared})"
    return line + (f"; {verdict_note}" if verdict_note else "")


def diff_view(threshold: float, rows: list[DiffRow], basis: str = "relative", verdict_note: str = "") -> Group:
    table = Table(title=f"navctl diff (threshold {threshold:g}%)", title_justify="left")
    for col in DIFF_COLUMNS:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*diff_cells(r))
    return Group(table, Text(diff_verdict(threshold, rows, basis, verdict_note)))


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}%"


def loadtest_table(info: LoadtestInfo) -> Table:
    """One row per load point of every serving configuration tried; the floor first."""
    title = f"load test: {info.key} ({info.driver}, {info.protocol}, batch {info.batch})"
    table = Table(title=title, title_justify="left")
    for name in LOADTEST_COLUMNS:
        table.add_column(name, justify="left" if name in ("configuration", "load") else "right")
    for cells in loadtest_cells(info):
        table.add_row(*cells)
    return table
