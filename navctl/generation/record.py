"""Generation steps' metrics into status.yaml: each step reports `{"generation": {<format@runner>: {...}}}`
(the check one key, the side-by-side measurement every key it measured); the fields it sends replace
those of the same name, the others are kept, so a rerun check leaves the figures in place."""

from __future__ import annotations

from navctl.contract.step import StepResult
from navctl.generation.records import GenerationResult
from navctl.plan.models import PlannedStep
from navctl.status import RunnerResult, Status


def apply_generation(status: Status, step: PlannedStep, result: StepResult) -> None:
    for key, fields in result.metrics.get("generation", {}).items():
        fmt, _, runner = key.partition("@")
        entry = status.results.setdefault(key, RunnerResult(format=fmt, runner=runner))
        old = entry.generation.model_dump() if entry.generation else {}
        entry.generation = GenerationResult(**{**old, **fields})
