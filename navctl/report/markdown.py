"""Markdown summaries: for $GITHUB_STEP_SUMMARY and `navctl report`."""

from __future__ import annotations

from navctl.report.summary import fmt_number, result_rows
from navctl.status import Status


def markdown_summary(status: Status) -> str:
    failed = {k: v for k, v in status.steps.items() if v.state in ("failed", "timeout", "crashed")}
    lines = [f"## navctl: {status.recipe.name}", ""]
    lines.append(
        "| format | runner | correct | max abs err | best throughput (/s) | @batch | p50 ms | p95 ms "
        "| speedup | selected |"
    )
    lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    for row in result_rows(status):
        lines.append(
            f"| {row.format} | {row.runner} | {row.correctness} | {fmt_number(row.max_abs, 2)} | "
            f"{fmt_number(row.best_throughput)} | {row.best_batch or '-'} | {fmt_number(row.p50_ms)} | "
            f"{fmt_number(row.p95_ms)} | {f'{row.speedup:.2f}x' if row.speedup else '-'} | "
            f"{', '.join(row.selected_by)} |"
        )
    lines.append("")
    if status.selection:
        lines.append("**Selection:** " + "; ".join(f"{k}: `{v or 'none'}`" for k, v in status.selection.items()))
        lines.append("")
    if failed:
        lines.append("**Failed steps:**")
        lines += [f"- `{k}` {v.state}: {v.reason}" for k, v in failed.items()]
        lines.append("")
    return "\n".join(lines) + "\n"
