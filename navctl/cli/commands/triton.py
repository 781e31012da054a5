"""`navctl triton`: a Triton model repository entry for one format of a package."""

from __future__ import annotations

from pathlib import Path

import typer

from navctl.cli.options import (
    Accelerator,
    DynamicBatchingOpt,
    FormatOpt,
    InstancesOpt,
    MaxBatchOpt,
    NameOpt,
    PackageArg,
    PreferredOpt,
    QueueDelayOpt,
    StrategyOpt,
    TritonKind,
)
from navctl.cli.output import stderr, stdout
from navctl.cli.serving import serving
from navctl.destinations import check_folder, writing


def triton(
    package: PackageArg,
    repo: Path = typer.Option(..., "--repo", help="The Triton model repository folder to write into.", metavar="DIR"),
    name: NameOpt = None,
    strategy: StrategyOpt = "max-throughput",
    format_key: FormatOpt = None,
    max_batch_size: MaxBatchOpt = None,
    dynamic_batching: DynamicBatchingOpt = None,
    preferred: PreferredOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    queue_delay_us: QueueDelayOpt = 100,
    instances: InstancesOpt = 1,
    kind: TritonKind = typer.Option(TritonKind.auto, "--kind", help="auto follows the runner's device."),
    accelerator: Accelerator = typer.Option(Accelerator.none, "--accelerator", help="ONNX formats only."),
    from_loadtest: bool = typer.Option(
        False, "--from-loadtest", help="Batching settings (and format) from the package's `navctl loadtest` results."
    ),
) -> None:
    """Write a Triton model repository entry (config.pbtxt + model files) for one format of a package."""
    fields = serving(strategy, format_key, name, max_batch_size, dynamic_batching, preferred, queue_delay_us, instances)
    check_folder(repo, "--repo")
    from navctl.nav import load
    from navctl.triton.repository import TritonOptions, write_repository

    options = TritonOptions(**fields, kind=kind.value, accelerator=accelerator.value)  # type: ignore[arg-type]
    if from_loadtest:
        from navctl.loadtest.recorded import apply_loadtest

        apply_loadtest(package, options, lambda line: stderr.print(line))
    with load(package) as pkg, writing(repo, "--repo"):
        model_dir = write_repository(pkg, repo, options)
        if getattr(pkg.io, "decoder", None) is not None:  # a Triton model of its own would not generate
            stderr.print(
                "note: this package holds a decoder; the entry written is its single forward pass (logits and "
                "the cache out, no cache in): for generation, `navctl serve` runs the decode loop over its "
                "decode-step format"
            )
    stdout.print(f"wrote {model_dir / 'config.pbtxt'}")
    for path in sorted((model_dir / "1").iterdir()):
        stdout.print(f"wrote {path}")
