"""`navctl loadtest`: a package's format served through Triton on 127.0.0.1 and measured under load."""

from __future__ import annotations

import typer

from navctl.cli import checks
from navctl.cli.options import (
    DynamicBatchingOpt,
    FormatOpt,
    InstancesOpt,
    JsonOpt,
    LoadDriver,
    MaxBatchOpt,
    PackageArg,
    PreferredOpt,
    Protocol,
    QueueDelayOpt,
    StrategyOpt,
)
from navctl.cli.output import print_json, stderr, stdout
from navctl.cli.serving import serving


def loadtest(
    package: PackageArg,
    strategy: StrategyOpt = "max-throughput",
    format_key: FormatOpt = None,
    concurrency: str = typer.Option("1,2,4,8", "--concurrency", help="Closed loop: requests in flight, e.g. 1,2,4,8."),
    request_rate: str | None = typer.Option(
        None, "--request-rate", help="Open loop (Poisson arrivals) instead: rates per second, e.g. 100:2000:100."
    ),
    latency_budget: str | None = typer.Option(
        None, "--latency-budget", help="Find the highest load whose p99 stays within this, e.g. 20ms."
    ),
    duration: str = typer.Option("5s", "--duration", help="The most one load point may take."),
    protocol: Protocol = typer.Option(Protocol.http, "--protocol"),
    batch: int = typer.Option(1, "--batch", min=1, help="Samples per request."),
    shape: str | None = typer.Option(
        None,
        "--shape",
        help="What each request sends: typical (default), min, max, or dims per input, e.g. input_ids:1x64.",
    ),
    tune: bool = typer.Option(False, "--tune", help="Try dynamic batching settings and instance counts."),
    tune_budget: str | None = typer.Option(None, "--tune-budget", help="The most --tune may take (default: 120s)."),
    tune_delays: str | None = typer.Option(
        None, "--tune-delays", help="Queue delays (us) --tune tries (default: 0,100,500,2000)."
    ),
    tune_instances: str | None = typer.Option(
        None, "--tune-instances", help="Instance counts --tune tries (default: 1,2)."
    ),
    driver: LoadDriver = typer.Option(LoadDriver.auto, "--driver", help="auto: perf_analyzer when on PATH."),
    max_batch_size: MaxBatchOpt = None,
    dynamic_batching: DynamicBatchingOpt = None,
    preferred: PreferredOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    queue_delay_us: QueueDelayOpt = 100,
    instances: InstancesOpt = 1,
    keep: bool = typer.Option(True, "--record/--no-record", help="Write the results into the package."),
    json_out: JsonOpt = False,
) -> None:
    """Serve a package's format through Triton (PyTriton) on 127.0.0.1 and measure it under load."""
    fields = serving(strategy, format_key, None, max_batch_size, dynamic_batching, preferred, queue_delay_us, instances)
    if max_batch_size is not None and batch > max_batch_size:
        raise checks.bad("--batch", batch, f"above --max-batch-size {max_batch_size}")
    tuning = {"--tune-budget": tune_budget, "--tune-delays": tune_delays, "--tune-instances": tune_instances}
    for option, value in tuning.items():
        if value is not None and not tune:
            raise checks.bad(option, value, "applies to --tune, which is not given")
    checks.request_shape(shape)
    from navctl.loadtest.generation_run import generation_table
    from navctl.loadtest.recorded import check_recordable, record
    from navctl.loadtest.run import LoadtestOptions, run_loadtest
    from navctl.report.tables import loadtest_table

    options = LoadtestOptions(
        **fields,
        concurrency=checks.levels(concurrency, "--concurrency", whole=True),
        request_rates=checks.levels(request_rate, "--request-rate", whole=False) if request_rate else [],
        latency_budget_ms=checks.duration(latency_budget, "--latency-budget") * 1000 if latency_budget else None,
        duration_s=checks.duration(duration, "--duration"),
        protocol=protocol.value,
        batch=batch,
        shape=shape,
        tune=tune,
        tune_budget_s=checks.duration(tune_budget or "120s", "--tune-budget"),
        tune_delays_us=checks.levels(tune_delays or "0,100,500,2000", "--tune-delays", whole=True, zero_ok=True),
        tune_instances=checks.levels(tune_instances or "1,2", "--tune-instances", whole=True),
        driver=driver.value,
    )
    if keep:
        check_recordable(package)
    say = (lambda line: stderr.print(line)) if json_out else (lambda line: stdout.print(line))
    info = run_loadtest(package, options, say)
    if keep:
        record(package, info)
    if json_out:
        print_json(info.model_dump(mode="json"))
        return
    stdout.print(info.answer)
    stdout.print(generation_table(info) if getattr(info, "generation", None) else loadtest_table(info))
