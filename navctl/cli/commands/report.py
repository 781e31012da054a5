"""`navctl report`: report.html, report.md and plots for packages or workspaces."""

from __future__ import annotations

from pathlib import Path

import typer

from navctl.cli.output import stdout
from navctl.destinations import check_folder, writing


def report(
    targets: list[Path] = typer.Argument(
        ..., help="Packages or workspaces, or folders holding them (several make one fleet page).", metavar="TARGET..."
    ),
    out: Path = typer.Option(Path("navctl_report"), "--out", help="Folder for report.html, report.md and plots."),
) -> None:
    """Write report.html (self-contained: charts, correctness, timeline, environment), report.md and,
    with matplotlib (navctl[report]), PNG plots."""
    from navctl.report.files import write_reports

    check_folder(out, "--out")
    with writing(out, "--out"):
        written = write_reports(targets, out)
    for line in written:
        stdout.print(line)
