"""Triton's own load generator, when it is on PATH (NVIDIA's Triton SDK containers ship it): one sweep
per call, read back from its CSV (`-f`; times in microseconds)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from navctl.errors import EnvironmentProblem
from navctl.records.loadtest import LoadPoint, ServerSplit

EXECUTABLE = "perf_analyzer"


def available() -> bool:
    return shutil.which(EXECUTABLE) is not None


def command(
    model: str,
    url: str,
    protocol: str,
    mode: str,
    level: float,
    batch: int,
    window_ms: int,
    csv_path: Path,
    shapes: dict[str, list[int]] | None = None,
) -> list[str]:
    """`shapes`: input -> dims without the batch axis (perf_analyzer's --shape, needed for dynamic dims)."""
    cmd = [
        EXECUTABLE, "-m", model, "-u", url, "-i", protocol, "-b", str(batch), "-f", str(csv_path),
        "--measurement-interval", str(window_ms), "--stability-percentage", "10", "--max-trials", "10",
        "--percentile", "99",
    ]  # fmt: skip
    for name, dims in (shapes or {}).items():
        cmd += ["--shape", f"{name}:{','.join(str(d) for d in dims)}"]
    if mode == "concurrency":
        return cmd + ["--concurrency-range", f"{int(level)}:{int(level)}"]
    return cmd + ["--request-distribution", "poisson", "--request-rate-range", f"{level:g}:{level:g}"]


def parse_csv(text: str, batch: int) -> list[LoadPoint]:
    """perf_analyzer's CSV: one row per level; 'Concurrency' or 'Request Rate' names the mode."""
    points = []
    for row in csv.DictReader(io.StringIO(text)):
        mode = "concurrency" if "Concurrency" in row else "request-rate"
        level = float(row.get("Concurrency") or row.get("Request Rate") or 0)

        def us(column: str, row: dict = row) -> float:
            return float(row.get(column) or 0) / 1000.0

        compute = us("Server Compute Input") + us("Server Compute Infer") + us("Server Compute Output")
        if "Server Compute" in row:  # older perf_analyzer: one compute column
            compute = us("Server Compute")
        throughput = float(row["Inferences/Second"])
        points.append(
            LoadPoint(
                mode=mode,
                level=level,
                requests=0,  # perf_analyzer's CSV does not give the count
                throughput=throughput,
                p50_ms=us("p50 latency"),
                p90_ms=us("p90 latency"),
                p95_ms=us("p95 latency"),
                p99_ms=us("p99 latency"),
                mean_ms=us("Avg latency") if "Avg latency" in row else None,
                stable=True,  # perf_analyzer reports a level only once its windows agreed
                server=ServerSplit(queue_ms=us("Server Queue"), compute_ms=compute, executions=0, avg_batch=0.0),
            )
        )
    return points


def measure(
    model: str,
    url: str,
    protocol: str,
    mode: str,
    level: float,
    batch: int,
    window_ms: int,
    shapes: dict[str, list[int]] | None = None,
) -> LoadPoint:
    """One level (one perf_analyzer call: its ranges do not take an arbitrary list of levels)."""
    with tempfile.TemporaryDirectory(prefix="navctl-pa-") as folder:
        csv_path = Path(folder) / "perf.csv"
        cmd = command(model, url, protocol, mode, level, batch, window_ms, csv_path, shapes)
        done = subprocess.run(cmd, capture_output=True, text=True)
        points = parse_csv(csv_path.read_text(), batch) if csv_path.exists() else []
        if done.returncode != 0 or not points:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise EnvironmentProblem(f"perf_analyzer failed ({done.returncode}): {' '.join(tail)}")
        return points[0]
