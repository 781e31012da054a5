"""The option group `triton`, `serve` and `loadtest` share: which format, under which name, batched how.
Declared once (options.py), checked once (checks.serving), turned into one model (`Serving`'s fields,
its batching a `ServingConfig`, what a load test records) here."""

from __future__ import annotations

from typing import Any

from navctl.cli import checks


def serving(
    strategy: str,
    format_key: str | None,
    name: str | None,
    max_batch_size: int | None,
    dynamic_batching: bool | None,
    preferred: list[int],
    queue_delay_us: int,
    instances: int,
) -> dict[str, Any]:
    """`navctl.triton.merging.Serving`'s fields, checked before any package is read."""
    checks.serving(strategy, format_key, name, max_batch_size, preferred, dynamic_batching)
    from navctl.records.loadtest import ServingConfig

    batching = ServingConfig(
        dynamic_batching=dynamic_batching is not False,
        max_queue_delay_us=queue_delay_us,
        preferred_batch_sizes=list(preferred),
        instances=instances,
        max_batch_size=max_batch_size,
    )
    return {
        "key": format_key,
        "strategy": strategy,
        "name": name,
        "batching": batching,
        "merging_asked": dynamic_batching,
    }
