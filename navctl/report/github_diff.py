"""`navctl diff` in GitHub Actions: its table in the step summary, an annotation per regression."""

from __future__ import annotations

from typing import TextIO

from navctl.report.github import annotation, append_summary, escape_md, in_github_actions, say, set_outputs


def diff_markdown(threshold: float, rows: list, warnings: list[str], verdict: str) -> str:
    from navctl.report.tables import DIFF_COLUMNS, diff_cells

    lines = [f"## navctl diff (threshold {threshold:g}%)", ""]
    lines += [f"> **warning: {escape_md(w)}**\n" for w in warnings]
    lines.append("| " + " | ".join(DIFF_COLUMNS) + " |")
    lines.append("|---|---|" + "---:|" * (len(DIFF_COLUMNS) - 3) + "---|")
    for row in rows:
        cells = [escape_md(c).replace("|", "\\|") for c in diff_cells(row)]
        if row.regressions:
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{verdict}\n\n"


def publish_diff(
    threshold: float, rows: list, warnings: list[str], verdict: str, gating: bool, stream: TextIO | None = None
) -> None:
    """`navctl diff`: its table in the summary and an annotation per regression (an error when
    --fail-on-regression makes it fail the step)."""
    append_summary(diff_markdown(threshold, rows, warnings, verdict))
    regressed = [r for r in rows if r.regressions]
    set_outputs({"regressions": str(len(regressed))})
    if not in_github_actions():
        return
    level = "error" if gating else "warning"
    lines = []
    for row in regressed:
        caveat = f" ({'; '.join(row.caveats)})" if row.caveats else ""
        lines.append(annotation(level, "; ".join(row.regressions) + caveat, title=f"navctl diff: {row.key}"))
    say(lines, stream)
