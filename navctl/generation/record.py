"""Generation steps' figures into status.yaml: each step reports `{<format@runner>: {...}}` (the check one
key, the side-by-side measurement every key it measured); the fields it sends replace those of the same
name, the others are kept, so a rerun check leaves the figures in place."""

from __future__ import annotations

from typing import Any

from navctl.generation.records import GenerationResult
from navctl.plan import registry
from navctl.records.results import RunnerResult
from navctl.status import Status


def apply_generation_figures(status: Status, figures: dict[str, dict[str, Any]]) -> None:
    for key, fields in figures.items():
        fmt, runner = registry.split_key(key)
        entry = status.results.setdefault(key, RunnerResult(format=fmt, runner=runner))
        old = entry.generation.model_dump() if entry.generation else {}
        entry.generation = GenerationResult(**{**old, **fields})
