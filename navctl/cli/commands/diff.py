"""`navctl diff`: two runs compared per format@runner (a CI gate)."""

from __future__ import annotations

from pathlib import Path

import typer

from navctl.cli import checks
from navctl.cli.options import CompareBasis, JsonOpt
from navctl.cli.output import print_json, stderr, stdout
from navctl.cli.targets import load_status


def diff(
    base: Path = typer.Argument(..., help="The baseline: a .nav package or a workspace.", metavar="BASE"),
    new: Path = typer.Argument(..., help="The run to compare with it.", metavar="NEW"),
    fail_on_regression: str | None = typer.Option(
        None, "--fail-on-regression", help="Exit 1 when speed drops or latency grows by more than this (e.g. 5%)."
    ),
    compare: CompareBasis = typer.Option(
        CompareBasis.relative,
        "--compare",
        help="relative: each format's speed against the source model measured in the same rounds (survives "
        "a slower runner); raw: the figures as measured (one dedicated machine).",
    ),
    json_out: JsonOpt = False,
) -> None:
    """Compare correctness and speed per format@runner between two runs (a CI gate)."""
    from navctl.report.comparability import comparability_warnings
    from navctl.report.diff import diff_status, verdict_caveat
    from navctl.report.github_diff import publish_diff
    from navctl.report.tables import diff_document, diff_verdict, diff_view

    threshold = checks.percent(fail_on_regression, "--fail-on-regression") if fail_on_regression is not None else 5.0
    base_status, new_status = load_status(base), load_status(new)
    rows = diff_status(base_status, new_status, threshold, compare.value)
    warnings = comparability_warnings(base_status, new_status)
    note = verdict_caveat(base_status, new_status, rows)
    if json_out:
        print_json(diff_document(threshold, rows, warnings, note))
    else:
        for warning in warnings:
            stderr.print(f"warning: {warning}")
        stdout.print(diff_view(threshold, rows, compare.value, note))
    gating = fail_on_regression is not None
    publish_diff(threshold, rows, warnings, diff_verdict(threshold, rows, compare.value, note), gating)
    if gating and any(r.regressions for r in rows):
        raise typer.Exit(1)
