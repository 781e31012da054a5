"""Options and choices several commands share, declared once (Typer reads the annotations)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

# Options several commands share, declared once.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
PackageArg = Annotated[Path, typer.Argument(help="A .nav package.", metavar="PACKAGE")]
StrategyOpt = Annotated[
    str,
    typer.Option(
        "--strategy", help="Which selection to use: max-throughput, min-latency, max-throughput-within-latency-budget."
    ),
]
FormatOpt = Annotated[
    str | None, typer.Option("--format", help="Use this FORMAT@RUNNER instead of a selection.", metavar="FORMAT@RUNNER")
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Model name (default: the recipe's name).")]
MaxBatchOpt = Annotated[
    int | None,
    typer.Option(
        "--max-batch-size",
        min=1,
        help="Default: the recipe's batching.max_batch_size (a TensorRT engine: the largest size profiled).",
    ),
]
QueueDelayOpt = Annotated[int, typer.Option("--max-queue-delay-us", min=0, help="Dynamic batching queue delay.")]
DynamicBatchingOpt = Annotated[
    bool | None,
    typer.Option(
        "--dynamic-batching/--no-dynamic-batching",
        help="Merge requests (default: when every output of the model is per sample).",
        show_default=False,
    ),
]
PreferredOpt = Annotated[
    list[int], typer.Option("--preferred-batch-size", min=1, help="Repeatable; default: the top two profiled.")
]
InstancesOpt = Annotated[int, typer.Option("--instances", min=1, help="Model instances per device.")]


class Executor(str, Enum):
    local = "local"
    ray = "ray"


class PackageFormats(str, Enum):
    all = "all"
    selected = "selected"


class CompareBasis(str, Enum):
    relative = "relative"
    raw = "raw"


class PlanFormat(str, Enum):
    tree = "tree"
    json = "json"
    mermaid = "mermaid"


class TritonKind(str, Enum):
    auto = "auto"
    cpu = "cpu"
    gpu = "gpu"


class Accelerator(str, Enum):
    none = "none"
    tensorrt = "tensorrt"
    openvino = "openvino"


class Protocol(str, Enum):
    http = "http"
    grpc = "grpc"


class LoadDriver(str, Enum):
    auto = "auto"
    navctl = "navctl"
    perf_analyzer = "perf_analyzer"
