"""`navctl serve`: a package's format behind a real Triton server (PyTriton) until Ctrl-C."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from navctl.cli import checks
from navctl.cli.options import (
    DynamicBatchingOpt,
    FormatOpt,
    InstancesOpt,
    MaxBatchOpt,
    NameOpt,
    PackageArg,
    PreferredOpt,
    QueueDelayOpt,
    StrategyOpt,
)
from navctl.cli.output import FastExit, stderr, stdout
from navctl.cli.serving import serving
from navctl.destinations import check_file
from navctl.ports import check_free


def serve(
    package: PackageArg,
    strategy: StrategyOpt = "max-throughput",
    format_key: FormatOpt = None,
    name: NameOpt = None,
    address: str = typer.Option("127.0.0.1", "--address", help="Listen address (0.0.0.0 for every interface)."),
    http_port: int = typer.Option(8000, "--http-port", min=1, max=65535),
    grpc_port: int = typer.Option(8001, "--grpc-port", min=1, max=65535),
    metrics_port: int = typer.Option(8002, "--metrics-port", min=1, max=65535),
    max_batch_size: MaxBatchOpt = None,
    dynamic_batching: DynamicBatchingOpt = None,
    preferred: PreferredOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    queue_delay_us: QueueDelayOpt = 100,
    instances: InstancesOpt = 1,
    null_model: str | None = typer.Option(None, "--null-model", hidden=True),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="Triton's own log (default: a file in the system temp folder, printed at start)."
    ),
) -> FastExit:
    """Serve a package's selected format with a real Triton server (PyTriton) until Ctrl-C."""
    import tempfile

    fields = serving(strategy, format_key, name, max_batch_size, dynamic_batching, preferred, queue_delay_us, instances)
    checks.listen_address(address)
    checks.distinct_ports(http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port)
    if log_file is None:
        log_file = Path(tempfile.gettempdir()) / f"navctl-serve-{os.getpid()}.log"
    check_file(log_file, "--log-file", "triton.log")
    from navctl.package import read_package_status
    from navctl.triton.serve import ServeOptions
    from navctl.triton.serve import serve as run_server

    read_package_status(package)  # a missing or broken package is said before a server is announced
    check_free(address, http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port)
    stderr.print(f"starting Triton; its log: {log_file}")
    options = ServeOptions(
        **fields,
        address=address,
        http_port=http_port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        null_model=null_model,
        log_file=log_file.resolve(),
    )
    run_server(package, options, ready=lambda line: stdout.print(line), say=lambda line: stderr.print(line))
    stdout.print("stopped")
    # the framework this process loaded is closed, with the server: its teardown (torch's alone about a
    # second, which a load test pays for every configuration it tries) is skipped
    return FastExit(0)
