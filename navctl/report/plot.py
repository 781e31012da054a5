"""`navctl report`'s Markdown report and its PNG plots (matplotlib: the `report` extra); report.html is
navctl.report.html's."""

from __future__ import annotations

from pathlib import Path

from navctl.contract.shapes import record_label
from navctl.report.loadtest_rows import LOADTEST_COLUMNS, loadtest_cells
from navctl.report.markdown import markdown_summary
from navctl.report.shape_rows import by_shape
from navctl.status import Status

PLOT_FILE = "latency_throughput.png"
REPORT_FILE = "report.md"


def write_plot(status: Status, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    shaped = any(r.profile_shapes for r in status.results.values())
    for key, result in sorted(status.results.items()):
        for group in by_shape(result.profile) + by_shape(result.profile_shapes):
            records = sorted(group, key=lambda r: r.batch_size)
            xs = [r.throughput for r in records]
            ys = [r.p50_ms for r in records]
            style = "--" if result.format == "source" else ("-" if group[0] in result.profile else ":")
            label = f"{key} ({record_label(status.inputs, group[0].shape_name, group[0].shapes)})" if shaped else key
            line = axes.plot(xs, ys, style, label=label)[0]
            for r in records:  # an unstable measurement is drawn hollow, as in report.html
                face = "white" if not r.stable else line.get_color()
                axes.plot([r.throughput], [r.p50_ms], "o", color=line.get_color(), markerfacecolor=face)
            for r in records:
                axes.annotate(
                    str(r.batch_size),
                    (r.throughput, r.p50_ms),
                    textcoords="offset points",
                    xytext=(3, 3),
                    fontsize=7,
                    color=line.get_color(),
                )
    axes.set_xlabel("throughput (samples/s)")
    axes.set_ylabel("p50 latency per request (ms)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_title(f"{status.recipe.name}: latency against throughput (labels: batch size)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    _mark_unreliable(figure, status)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def _mark_unreliable(figure, status: Status) -> None:
    if status.profiling.unreliable:
        figure.suptitle(f"numbers unreliable: {status.profiling.unreliable}", color="#c0392b", fontsize=9, y=0.995)


LOADTEST_PLOT_FILE = "loadtest.png"


def write_loadtest_plot(status: Status, path: Path) -> Path | None:
    """Throughput against p99 per serving configuration of `navctl loadtest`; None without a load test."""
    info = status.loadtest
    if info is None or not info.runs:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    for run in info.runs:
        points = sorted((p for p in run.points if p.p99_ms is not None), key=lambda p: p.throughput)
        axes.plot([p.throughput for p in points], [p.p99_ms for p in points], marker="o", label=run.config.describe())
    if info.latency_budget_ms is not None:
        axes.axhline(info.latency_budget_ms, linestyle=":", color="grey", label=f"budget {info.latency_budget_ms:g} ms")
    axes.set_xlabel("throughput (infer/s)")
    axes.set_ylabel("p99 latency at the client (ms)")
    axes.set_title(f"{info.key} under load ({info.driver})")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=7)
    _mark_unreliable(figure, status)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def loadtest_markdown(status: Status) -> str:
    info = status.loadtest
    if info is None:
        return ""
    lines = ["## Load test", "", info.answer, "", f"Driver: {info.driver}, {info.protocol}, batch {info.batch}.", ""]
    lines.append("| " + " | ".join(LOADTEST_COLUMNS) + " |")
    lines.append("|---|---|" + "---:|" * (len(LOADTEST_COLUMNS) - 2))
    lines += ["| " + " | ".join(cells) + " |" for cells in loadtest_cells(info)]
    return "\n".join(lines) + "\n\n"


def profile_tables(status: Status) -> str:
    lines = ["## Profiles", ""]
    shaped = any(r.profile_shapes for r in status.results.values())
    for key, result in sorted(status.results.items()):
        if not result.profile:
            continue
        lines += [
            f"### {key}",
            "",
            ("| shape " if shaped else "")
            + "| batch | throughput (/s) | mean ms | p50 ms | p90 ms | p95 ms | p99 ms | cv | stable | requests |",
            ("|---" if shaped else "") + "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for r in result.profile + result.profile_shapes:
            shape = f"| {record_label(status.inputs, r.shape_name, r.shapes)} " if shaped else ""
            lines.append(
                f"{shape}| {r.batch_size} | {r.throughput:,.0f} | {r.mean_ms:.4g} | {r.p50_ms:.4g} | {r.p90_ms:.4g} "
                f"| {r.p95_ms:.4g} | {r.p99_ms:.4g} | {r.cv:.2f} | {'yes' if r.stable else 'no'} "
                f"| {r.requests} |"
            )
        if result.profile_stopped:
            lines.append(f"\nSweep stopped: {result.profile_stopped}")
        lines.append("")
    return "\n".join(lines)


def write_report(status: Status, out: Path, plots: bool = True) -> list[Path]:
    """report.md, and with matplotlib (`plots`) the PNG plots it shows."""
    out.mkdir(parents=True, exist_ok=True)
    env = status.environment
    text = (
        markdown_summary(status)
        + f"\nMeasured with navctl {status.tool.version} on {env.cpu} ({env.threads} threads per runner), "
        f"Python {env.python}.\n\n"
    )
    written = []
    if plots and any(r.profile for r in status.results.values()):
        written.append(write_plot(status, out / PLOT_FILE))
        text += f"![latency against throughput]({PLOT_FILE})\n\n"
    text += profile_tables(status)
    if status.loadtest is not None:
        text += "\n" + loadtest_markdown(status)
        loadtest_plot = write_loadtest_plot(status, out / LOADTEST_PLOT_FILE) if plots else None
        if loadtest_plot is not None:
            written.append(loadtest_plot)
            text += f"![throughput against p99]({LOADTEST_PLOT_FILE})\n"
    report = out / REPORT_FILE
    report.write_text(text)
    return [report, *written]
