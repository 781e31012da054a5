"""What a load test sends: the format chosen from the package, one request built from its recorded
samples at the shape asked for, and the batching the model allows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from navctl.contract.feeds import feed_at
from navctl.errors import UsageError
from navctl.loadtest.shape import outside_ranges, request_shape
from navctl.records.loadtest import ServingConfig
from navctl.triton.layout import serving_layout
from navctl.triton.merging import check_preferred, note, why_not

if TYPE_CHECKING:
    from navctl.loadtest.run import LoadtestOptions


@dataclass
class Target:
    """What every request sends, and where."""

    package: Path
    key: str
    name: str
    inputs: dict[str, np.ndarray]
    batching: bool
    profiled_best: list[int]  # the profile's batch sizes by throughput, best first
    config: ServingConfig  # the recipe's serving settings, dynamic batching off where it cannot merge
    note: str = ""  # why requests are never merged, when the batch probe ruled it out
    shape_name: str = "typical"  # the shape every request sends (navctl.loadtest.shape)
    shape_notes: list[str] = field(default_factory=list)  # sizes beyond what correctness checked


def load_target(package_path: Path, options: LoadtestOptions) -> Target:
    from navctl.nav import load

    with load(package_path) as package:
        servable = package.candidates
        if not servable:
            raise UsageError(
                f"{package_path}: no format passed its correctness check, so none can be served for a load test"
            )
        key = options.key or package.best(options.strategy)
        if key not in servable:
            raise UsageError(f"{package_path}: {key} is not servable (not correct); servable: {', '.join(servable)}")
        io = package.io
        samples, _ = package.samples()
        shape, batch = request_shape(io, options.shape, options.batch)
        profile = package.status.results[key].profile
        best = [r.batch_size for r in sorted(profile, key=lambda r: -r.throughput)]
        layout = serving_layout(io, best, options.batching.max_batch_size, key)
        batching, max_batch = layout.batching, layout.max_batch
        if not batching and batch != 1:
            raise UsageError(f"{package_path}: --batch {batch}: a request holds one sample: {why_not(io)}")
        options.batch = batch
        config = options.batching
        if not options.merges(io, "navctl loadtest"):
            config = config.model_copy(update={"dynamic_batching": False})
        feed = feed_at(samples, io.inputs, shape, batch if batching else None, io.batch_axis)
        # one value per sample travels as [batch, 1] (the layout's rule, as serve declares it)
        inputs = {meta.name: np.ascontiguousarray(layout.to_wire(meta.name, feed[meta.name])) for meta in io.inputs}
        if batching and options.batch > max_batch:
            raise UsageError(
                f"--batch {options.batch}: above the max batch size {max_batch}, so Triton would refuse every request",
                hint="--max-batch-size sets it (default: the recipe's batching.max_batch_size)",
            )
        if config.dynamic_batching:
            check_preferred(config.preferred_batch_sizes, max_batch)
        return Target(
            package_path,
            key,
            package.status.recipe.name,
            inputs,
            batching,
            best,
            config,
            note(io),
            shape.name,
            outside_ranges(io, shape),
        )
