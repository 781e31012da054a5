"""The load test's points as table cells, the same in the console, Markdown and the plots' tables."""

from __future__ import annotations

from navctl.records.loadtest import LoadtestInfo
from navctl.report.summary import fmt_number

LOADTEST_COLUMNS = ("configuration", "load", "infer/s", "p50 ms", "p90 ms", "p99 ms", "queue ms", "compute ms", "batch")


def loadtest_cells(info: LoadtestInfo) -> list[list[str]]:
    """The load test's points as text, the floor first, one configuration after another."""
    runs = [("floor (a model that does nothing)", [info.floor])] if info.floor else []
    runs += [(run.config.describe() + (" (best)" if run.config == info.best else ""), run.points) for run in info.runs]
    rows = []
    for label, points in runs:
        for i, point in enumerate(points):
            unit = "in flight" if point.mode == "concurrency" else "req/s"
            server = point.server
            rows.append(
                [
                    label if i == 0 else "",
                    f"{point.level:g} {unit}" + ("" if point.stable else " (unstable)"),
                    fmt_number(point.throughput),
                    fmt_number(point.p50_ms),
                    fmt_number(point.p90_ms),
                    fmt_number(point.p99_ms),
                    fmt_number(server.queue_ms) if server else "-",
                    fmt_number(server.compute_ms) if server else "-",
                    fmt_number(server.avg_batch) if server and server.avg_batch else "-",
                ]
            )
    return rows
