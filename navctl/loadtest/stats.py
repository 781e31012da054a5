"""Triton's own account of where request time went: `/v2/models/<name>/stats`, read before and after a
load point and subtracted, so the split covers that point alone."""

from __future__ import annotations

from typing import Any

from navctl.records.loadtest import ServerSplit


def read_stats(http_url: str, model: str) -> dict[str, Any]:
    """The model's statistics entry (cumulative since the server started)."""
    import tritonclient.http as http

    client = http.InferenceServerClient(http_url)
    try:
        answer = client.get_inference_statistics(model)
    finally:
        client.close()
    for entry in answer.get("model_stats", []):
        if entry.get("name") == model:
            return entry
    return {}


def _counter(entry: dict[str, Any], *path: str) -> int:
    value: Any = entry
    for part in path:
        value = value.get(part, {}) if isinstance(value, dict) else {}
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else 0


def split_between(before: dict[str, Any], after: dict[str, Any]) -> ServerSplit | None:
    """Average queue and compute time per request between two reads; None when nothing ran between."""

    def delta(*path: str) -> int:
        return _counter(after, *path) - _counter(before, *path)

    requests = delta("inference_stats", "success", "count")
    if requests <= 0:
        return None
    parts = ("compute_input", "compute_infer", "compute_output")
    compute_ns = sum(delta("inference_stats", part, "ns") for part in parts)
    executions = delta("execution_count")
    return ServerSplit(
        queue_ms=round(delta("inference_stats", "queue", "ns") / requests / 1e6, 4),
        compute_ms=round(compute_ns / requests / 1e6, 4),
        executions=executions,
        avg_batch=round(delta("inference_count") / executions, 3) if executions else 0.0,
    )
