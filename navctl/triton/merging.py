"""Whether a server may merge requests for a model: one rule for `navctl triton`, `serve` and `loadtest`.

Triton's dynamic batcher concatenates requests along axis 0 and splits the answer back by rows, which
is right only when every output is per sample, as the samples step's batch probe found (model_io.json).
For any other model each request runs alone (`max_batch_size: 0`), and an option that asks for merging
is refused with the output that forbids it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from navctl.contract.tensors import ModelIO
from navctl.errors import UsageError
from navctl.records.loadtest import ServingConfig


@dataclass
class Serving:
    """What `navctl triton`, `serve` and `loadtest` share: which format, under which model name, batched
    how (the settings a load test records, `ServingConfig`), and whether merging was asked for."""

    key: str | None = None  # format@runner; else the strategy's choice
    strategy: str = "max-throughput"
    name: str | None = None  # Triton model name; default: the recipe's name
    batching: ServingConfig = field(default_factory=ServingConfig)
    # --dynamic-batching (True), --no-dynamic-batching (False) or neither (None: when the model allows it)
    merging_asked: bool | None = None

    def merges(self, io: ModelIO, command: str) -> bool:
        """Dynamic batching on or off for this model (`merging`'s rule)."""
        config = self.batching
        return merging(io, self.merging_asked, config.max_batch_size, config.preferred_batch_sizes, command)


def batched(io: ModelIO) -> bool:
    """Triton batches along axis 0 only."""
    return io.batching and io.batch_axis == 0


def why_not(io: ModelIO) -> str:
    """'' when requests may be merged, else why not (naming the outputs when the probe found them)."""
    if io.batchable is False:
        return f"not every output is per sample ({io.batch_reason})"
    if not io.batching:
        return "the recipe turned batching off (batching.enabled: false)"
    if io.batch_axis != 0:
        return f"its batch axis is {io.batch_axis}, and Triton batches along axis 0"
    return ""


def merging(io: ModelIO, asked: bool | None, max_batch_size: int | None, preferred: list[int], command: str) -> bool:
    """Dynamic batching on or off. `asked`: --dynamic-batching (True), --no-dynamic-batching (False) or
    neither (None: on whenever the model allows it). Merging options on a model whose requests cannot
    be merged are refused, since a merged answer would mix clients' requests or fail."""
    reason = why_not(io)
    if not reason:
        return asked is not False
    given = [
        flag
        for flag, on in (
            ("--dynamic-batching", asked is True),
            ("--max-batch-size", max_batch_size is not None),
            ("--preferred-batch-size", bool(preferred)),
        )
        if on
    ]
    if given:
        raise UsageError(
            f"{command}: {', '.join(given)}: requests cannot be merged for this model: {reason}",
            hint="leave the option out: each request then runs alone (Triton max_batch_size 0)",
        )
    return False


def check_preferred(preferred: list[int], max_batch: int) -> None:
    """Preferred batch sizes the model's max batch size allows: Triton refuses any other config, at load
    time, in its own log."""
    for size in preferred:
        if not max_batch:
            raise UsageError(f"--preferred-batch-size {size}: the model has no batch axis, so Triton does not batch it")
        if size > max_batch:
            raise UsageError(
                f"--preferred-batch-size {size}: above the max batch size {max_batch}",
                hint="--max-batch-size sets it (default: the recipe's batching.max_batch_size)",
            )


def note(io: ModelIO) -> str:
    """The line a server prints when the probe ruled merging out ('' otherwise)."""
    if io.batchable is not False:
        return ""
    return f"requests are never merged (max_batch_size 0): {why_not(io)}"
