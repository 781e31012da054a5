"""The Pareto frontier of throughput against latency over every format@runner and batch size."""

from __future__ import annotations

from dataclasses import dataclass

from navctl.plan.registry import SOURCE
from navctl.status import Status


@dataclass(frozen=True)
class Operating:
    """One way to serve: a format on a runner at a batch size, as profiled."""

    key: str
    batch: int
    throughput: float
    latency_ms: float
    stable: bool
    candidate: bool  # may be selected: not the source model, and correct


def operating_points(status: Status, percentile: str = "p50") -> list[Operating]:
    points = []
    for key, result in sorted(status.results.items()):
        correct = result.correctness is not None and result.correctness.passed
        candidate = result.format != SOURCE and correct and (result.verify is None or result.verify.passed)
        for record in result.profile:
            latency = getattr(record, f"{percentile}_ms")
            points.append(
                Operating(
                    key,
                    record.batch_size,
                    record.throughput,
                    latency,
                    record.stable,
                    candidate,
                )
            )
    return points


def frontier(points: list[Operating]) -> list[Operating]:
    """The candidates no other candidate beats on both throughput and latency, by rising latency."""
    front: list[Operating] = []
    for point in sorted((p for p in points if p.candidate), key=lambda p: (p.latency_ms, -p.throughput)):
        if not front or point.throughput > front[-1].throughput:
            front.append(point)
    return front
