"""The verify step: the recipe's own judgement of a format's outputs against the source's."""

from __future__ import annotations

from typing import Any

from navctl.contract.loading import load_callable
from navctl.contract.tensors import load_arrays
from navctl.steps.calibration import checked_indices
from navctl.steps.child import StepContext, StepFailed, StepRejected
from navctl.steps.common import recorded_samples
from navctl.steps.gate_strength import input_spread, perturbed_copy


def run_verify(ctx: StepContext) -> dict[str, Any]:
    """Calls `verify(outputs, reference, **kwargs)`: lists of dicts name -> array, one per sample.

    The outputs are those the correctness step recorded for this format and runner (for a reduced-precision
    candidate, only the samples its calibration never saw). The function returns a bool, or
    (bool, message); an exception counts as a failed verification, and a reduced-precision candidate that
    fails it is rejected.

    A pass is then put to the test: the function also judges a copy of the reference perturbed by about
    its input-driven spread (navctl.steps.gate_strength). When it passes that copy too it cannot tell an
    answer that misses what the input changes from the right one: `proves_little`.
    """
    io, inputs, recorded = recorded_samples(ctx)
    gate = ctx.spec.options.gate
    indices = checked_indices(len(inputs), gate.split) if gate else list(range(len(inputs)))
    failure = StepRejected if gate else StepFailed
    folder = ctx.path(ctx.spec.options.outputs_dir)
    outputs = [load_arrays(folder / f"{i}.npz", io.output_names) for i in indices]
    reference = [recorded[i] for i in indices]
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
    batch_axis = io.batch_axis if io.batching else None
    spreads = {name: input_spread([r[name] for r in recorded], batch_axis) for name in io.output_names}
    perturbed = perturbed_copy(reference, spreads, batch_axis, ctx.spec.seed)
    perturbed_passed = None if perturbed is None else _passes(function, perturbed, reference, ref.kwargs, ctx)
    verdict["perturbed_passed"] = perturbed_passed
    verdict["proves_little"] = bool(perturbed_passed)
    if verdict["proves_little"]:
        ctx.note = "verify proves little: it passed a copy of the reference perturbed by its input-driven spread too"
    return {"verify": verdict}


def _passes(function, outputs: list, reference: list, kwargs: dict, ctx: StepContext) -> bool:
    """The function's verdict on `outputs`; an exception counts as a refusal (it told them apart)."""
    try:
        answer = function(outputs, reference, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's function refusing odd outputs is an answer
        ctx.log(f"verify raised on the perturbed reference: {type(exc).__name__}: {exc}")
        return False
    return bool(answer[0] if isinstance(answer, tuple) else answer)
