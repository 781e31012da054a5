"""What differs between two runs besides the code under test (`navctl diff`'s warnings)."""

from __future__ import annotations

from navctl.contract.shapes import BATCH_SYMBOL
from navctl.plan.registry import TRACKED_DISTRIBUTIONS
from navctl.status import Status


def comparability_warnings(base: Status, new: Status) -> list[str]:
    """What differs between the two runs besides the code under test: figures from different
    machines, thread counts, recipes or library versions are not a regression test."""
    warnings = []
    be, ne = base.environment, new.environment
    if base.recipe.name != new.recipe.name:
        warnings.append(f"different recipes: {base.recipe.name} vs {new.recipe.name}")
    elif base.recipe.sha256 != new.recipe.sha256:
        warnings.append("the recipe changed between the runs (different sha256)")
    if (
        base.outputs
        and new.outputs
        and [(t.name, t.shape) for t in base.outputs] != [(t.name, t.shape) for t in new.outputs]
    ):
        warnings.append("the model's outputs differ (names or shapes): a different model?")
    before = {f.path: f.sha256 for f in base.user_files}
    edited = [path for path, sha in ((f.path, f.sha256) for f in new.user_files) if before.get(path, sha) != sha]
    if edited:  # a model change is what a diff may test, but its reader must know the runs hold two models
        warnings.append(f"your files changed between the runs: {', '.join(edited)}")
    shapes = [_profiled_shape(base), _profiled_shape(new)]
    if all(shapes) and shapes[0] != shapes[1]:
        warnings.append(f"the figures are at different input shapes: {shapes[0]} vs {shapes[1]}")
    if be.threads != ne.threads:
        warnings.append(f"different thread counts: {be.threads} vs {ne.threads}")
    if be.cpu != ne.cpu:
        warnings.append(f"different CPUs: {be.cpu} vs {ne.cpu}")
    if be.gpu != ne.gpu:
        warnings.append(f"different GPUs: {', '.join(be.gpu) or 'none'} vs {', '.join(ne.gpu) or 'none'}")
    changed = [
        f"{name} {be.packages.get(name, '-')} -> {ne.packages.get(name, '-')}"
        for name in TRACKED_DISTRIBUTIONS
        if be.packages.get(name) != ne.packages.get(name)
    ]
    if changed:
        warnings.append("different library versions: " + ", ".join(changed))
    for label, status in (("base", base), ("new", new)):
        if status.profiling.unreliable:
            warnings.append(f"the {label} run's numbers are flagged unreliable: {status.profiling.unreliable}")
    return warnings


def _profiled_shape(status: Status) -> str:
    """The input shape the selection's figures are at (the first profiled point's dims, the batch's as 'b')."""
    batch = {(m.name, a.axis) for m in status.inputs for a in m.axes if a.symbol == BATCH_SYMBOL}
    for result in status.results.values():
        for record in result.profile:
            if record.shapes:
                return ", ".join(
                    f"{name} [{', '.join('b' if (name, i) in batch else str(d) for i, d in enumerate(dims))}]"
                    for name, dims in record.shapes.items()
                )
    return ""
