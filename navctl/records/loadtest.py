"""`navctl loadtest`'s record: the serving configurations tried, their load points, the best one."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from navctl.records.base import Record


class ServerSplit(Record):
    """Where a request's time went inside Triton, averaged over a load point (its statistics endpoint)."""

    queue_ms: float = Field(description="waiting in the scheduler's queue (dynamic batching waits here)")
    compute_ms: float = Field(description="input copy + model execution + output copy")
    executions: int = Field(description="model executions (batches) the server ran")
    avg_batch: float = Field(description="requests per execution: how much dynamic batching merged")


class LoadPoint(Record):
    mode: Literal["concurrency", "request-rate"]
    level: float = Field(description="requests in flight (concurrency) or requests per second sent (request-rate)")
    requests: int = Field(description="answered requests in the measured windows")
    throughput: float = Field(description="inferences (samples) per second answered")
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    errors: int = 0
    dropped: int = Field(0, description="open loop only: arrivals not sent because too many were in flight")
    windows: int = 0
    stable: bool = Field(description="the last 3 windows agreed within 10 % in throughput and mean latency")
    server: ServerSplit | None = None


class ServingConfig(Record):
    """The Triton batching settings a load test served with (what `navctl triton --from-loadtest` writes)."""

    dynamic_batching: bool = True
    max_queue_delay_us: int = 100
    preferred_batch_sizes: list[int] = Field(default_factory=list)
    instances: int = 1
    max_batch_size: int | None = None

    def describe(self) -> str:
        if self.dynamic_batching:
            preferred = f", preferred {self.preferred_batch_sizes}" if self.preferred_batch_sizes else ""
            batching = f"dynamic batching (queue delay {self.max_queue_delay_us} us{preferred})"
        else:
            batching = "no dynamic batching"
        return f"{batching}, {self.instances} instance{'s' if self.instances != 1 else ''}"


class LoadtestRun(Record):
    config: ServingConfig
    points: list[LoadPoint] = Field(default_factory=list)
    within_budget: LoadPoint | None = Field(None, description="the highest load whose p99 met the budget")


class LoadtestInfo(Record):
    """`navctl loadtest` results: one served format under many clients, through a real Triton server."""

    version: int = 1
    key: str = Field(description="the format@runner served")
    protocol: Literal["http", "grpc"] = "http"
    driver: str = Field(description="perf_analyzer, or navctl's tritonclient asyncio driver")
    batch: int = Field(1, description="samples per request")
    shape_name: str = Field("", description="typical, min, max, or given (--shape)")
    shapes: dict[str, list[int]] = Field(default_factory=dict, description="input name -> the dims every request sent")
    latency_budget_ms: float | None = None
    floor: LoadPoint | None = Field(None, description="the driver against a model that does nothing: the floor")
    runs: list[LoadtestRun] = Field(default_factory=list, description="one per serving configuration tried")
    best: ServingConfig | None = Field(None, description="the configuration that served the most within budget")
    answer: str = Field("", description="the one line users asked for")
    machine: str = ""
    finished_at: str = ""
