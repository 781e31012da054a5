"""What `navctl report` writes: report.html for every target together, report.md (and PNG plots when
matplotlib is installed) per run: in the output folder for one run, in a folder per model for a fleet."""

from __future__ import annotations

from pathlib import Path

from navctl.plan.environment import module_available
from navctl.report.html import write_html
from navctl.report.plot import write_report
from navctl.report.sources import collect


def write_reports(targets: list[Path], out: Path) -> list[str]:
    """Write the reports; returns the lines to show (each file written, and why a plot is missing)."""
    sources = collect(targets)
    plots = module_available("matplotlib")
    lines = [f"wrote {write_html(sources, out)}"]
    used: set[str] = set()
    for source in sources:
        folder = out
        if len(sources) > 1:
            name = source.name if source.name not in used else f"{source.name}-{len(used)}"
            used.add(name)
            folder = out / name
        lines += [f"wrote {path}" for path in write_report(source.status, folder, plots=plots)]
    if not plots:
        lines.append(
            "no PNG plots: matplotlib is not installed (pip install 'navctl[report]'); report.html has the charts"
        )
    return lines
