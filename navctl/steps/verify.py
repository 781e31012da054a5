"""The verify step: the recipe's own judgement of a format's outputs against the source's."""

from __future__ import annotations

from typing import Any

from navctl.steps.calibration import checked_indices
from navctl.steps.child import StepContext, StepFailed, StepRejected
from navctl.steps.common import recorded_samples
from navctl.steps.loading import load_callable
from navctl.steps.tensors import load_arrays


def run_verify(ctx: StepContext) -> dict[str, Any]:
    """Calls `verify(outputs, reference, **kwargs)`: lists of dicts name -> array, one per sample.

    The outputs are those the correctness step recorded for this format and runner (for a reduced-precision
    candidate, only the samples its calibration never saw). The function returns a bool, or
    (bool, message); an exception counts as a failed verification, and a reduced-precision candidate that
    fails it is rejected.
    """
    io, inputs, reference = recorded_samples(ctx)
    gate = ctx.spec.options.get("gate")
    indices = checked_indices(len(inputs), gate["split"]) if gate else list(range(len(inputs)))
    failure = StepRejected if gate else StepFailed
    folder = ctx.path(ctx.spec.options["outputs_dir"])
    outputs = [load_arrays(folder / f"{i}.npz", io.output_names) for i in indices]
    reference = [reference[i] for i in indices]
    ref = ctx.spec.verify
    function = load_callable(ref.entrypoint, ctx.recipe_dir)
    try:
        answer = function(outputs, reference, **ref.kwargs)
    except Exception as exc:
        verdict = {"passed": False, "message": f"{type(exc).__name__}: {exc}"}
        raise failure(f"verify raised {verdict['message']}", {"verify": verdict}) from exc
    passed, message = answer if isinstance(answer, tuple) else (answer, "")
    verdict = {"passed": bool(passed), "message": str(message)}
    if not passed:
        raise failure(f"verify returned false{': ' + str(message) if message else ''}", {"verify": verdict})
    return {"verify": verdict}
