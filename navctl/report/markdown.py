"""Markdown summaries: for $GITHUB_STEP_SUMMARY and `navctl report`."""

from __future__ import annotations

from collections import Counter

from navctl.generation.report import GENERATION_NOTE, generation_rows
from navctl.report.notes import run_notes
from navctl.report.summary import result_columns, result_rows, table_lines
from navctl.status import Status


def markdown_summary(status: Status) -> str:
    """The GitHub step summary: the machine, step counts, the table, warnings, the selection, failures."""
    failed = {k: v for k, v in status.steps.items() if v.state in ("failed", "timeout", "crashed")}
    counts = Counter(v.state for v in status.steps.values())
    env = status.environment
    lines = [f"## navctl: {status.recipe.name}", ""]
    lines.append(
        f"{env.cpu}, {env.threads} thread{'s' if env.threads != 1 else ''}, "
        f"GPU: {', '.join(env.gpu) or 'none'}, Python {env.python}, navctl {status.tool.version}"
    )
    lines.append("")
    lines.append("Steps: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    if counts.get("cached"):
        lines.append("")
        lines.append(
            f"{counts['cached']} step(s) were reused from an earlier run (cached): their figures are from then."
        )
    lines.append("")
    rows = result_rows(status)
    if rows:
        columns = result_columns(rows)
        lines.append("| " + " | ".join(name for name, _ in columns) + " |")
        lines.append("|" + "|".join("---:" if justify == "right" else "---" for _, justify in columns) + "|")
        lines += ["| " + " | ".join(cells) + " |" for _, cells, _ in table_lines(rows)]
    else:
        lines.append("No format produced results in this run.")
    lines.append("")
    columns, generation = generation_rows(status)
    if generation:
        lines += [f"**Generation** ({GENERATION_NOTE})", "", "| " + " | ".join(columns) + " |"]
        lines.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(columns))) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in generation] + [""]
    for note in run_notes(status):
        lines.append(f"> **{note}**")
        lines.append("")
    if status.selection:
        lines.append("**Selection:** " + "; ".join(f"{k}: `{v or 'none'}`" for k, v in status.selection.items()))
        lines.append("")
    if failed:
        lines.append("**Failed steps:**")
        lines += [f"- `{k}` {v.state}: {v.reason}" for k, v in failed.items()]
        lines.append("")
    return "\n".join(lines) + "\n"
