"""The generation steps a decoder adds to a plan, once the samples step has recognized one.

The plan is expanded before any step runs and only the samples step can tell a decoder (its outputs
hold a cache), so the executor extends the plan when the samples step ends (`extend`); a model that is
not a decoder gets no step from here and plans exactly as before. Pure: names and plan data only.

Steps (kind `generation`):
  generation/reference            the source's greedy tokens and logits over the dataloader's prompts,
                                  itself checked against transformers' generate (key source@torch-<dev>)
  generation/export/onnx          onnx/decode_step.onnx: past_key_values.N.key|value in, present out,
                                  one merged model (empty cache for the prefill)
  generation/convert/openvino     openvino/decode_step.xml from that ONNX, names kept
  generation/export/torchscript-trace  the same step traced (torchscript-trace/decode_step.pt)
  generation/export/torch-export       the same step as an ExportedProgram (torch-export/decode_step.pt2)
  generation/convert/onnx-int8|fp16    reduced-precision decode steps from the ONNX one
  generation/check/<format@runner>     greedy tokens and per-step logits against the reference
  generation/profile              time to first token and decode latency, every runner side by side
"""

from __future__ import annotations

from dataclasses import dataclass

from navctl.plan import registry
from navctl.plan.models import Plan, PlannedStep

PREFIX = "generation/"
REFERENCE = "generation/reference"
PROFILE = "generation/profile"
CHECK = "generation/check/"  # + format@runner
_STEPS = "navctl.steps"


@dataclass(frozen=True)
class DecodeFormat:
    artifact: str
    parent: str | None  # the decode format it is made from (None: from the source model)
    function: str
    runtimes: tuple[str, ...]
    precision: str = "fp32"


DECODE_FORMATS: dict[str, DecodeFormat] = {
    "onnx": DecodeFormat("onnx/decode_step.onnx", None, f"{_STEPS}.generation_export:export_onnx", ("onnxruntime",)),
    "openvino": DecodeFormat(
        "openvino/decode_step.xml", "onnx", f"{_STEPS}.generation_export:convert_openvino", ("openvino",)
    ),
    "torchscript-trace": DecodeFormat(
        "torchscript-trace/decode_step.pt", None, f"{_STEPS}.generation_export:trace_torchscript", ("torchscript",)
    ),
    "torch-export": DecodeFormat(
        "torch-export/decode_step.pt2", None, f"{_STEPS}.generation_export:export_program", ("torch-export",)
    ),
    "onnx-int8": DecodeFormat(
        "onnx-int8/decode_step.onnx",
        "onnx",
        f"{_STEPS}.generation_export:quantize_onnx_dynamic",
        ("onnxruntime",),
        precision="int8",
    ),
    "onnx-fp16": DecodeFormat(
        "onnx-fp16/decode_step.onnx",
        "onnx",
        f"{_STEPS}.generation_export:convert_onnx_fp16",
        ("onnxruntime",),
        precision="fp16",
    ),
}


def decode_artifact(fmt: str) -> str | None:
    return DECODE_FORMATS[fmt].artifact if fmt in DECODE_FORMATS else None


def source_runner(plan: Plan) -> str:
    return registry.runner_name("torch", plan.device)


def _made(plan: Plan, fmt: str) -> PlannedStep | None:
    """The plan's own step that makes a format (export/ or convert/)."""
    from navctl.plan.kinds import kind  # the table names this module's reads_model: imported late

    return next((s for s in plan.steps if s.format == fmt and kind(s.kind).makes), None)


def extend(plan: Plan, profiling: bool) -> list[PlannedStep]:
    """The generation steps for this plan's formats and runners (the caller knows the model is a decoder)."""
    if plan.framework != "torch" or any(s.id.startswith(PREFIX) for s in plan.steps):
        return []
    device = plan.device
    steps: list[PlannedStep] = [
        PlannedStep(
            id=REFERENCE,
            kind="generation",
            format=registry.SOURCE,
            runner=source_runner(plan),
            device=device,
            function=f"{_STEPS}.generation_check:reference",
            deps=["samples"],
        )
    ]
    made: dict[str, PlannedStep] = {}
    for fmt in DECODE_FORMATS:
        chain = _chain(fmt)
        if any(_made(plan, f) is None for f in chain):
            continue  # the recipe does not ask for it (or for what it is made from)
        for name in chain:
            if name in made:
                continue
            own = _made(plan, name)
            spec = DECODE_FORMATS[name]
            parent = f"generation/{'convert' if spec.parent else 'export'}/{name}"
            deps = ["samples"] + ([made[spec.parent].id] if spec.parent else [])
            made[name] = PlannedStep(
                id=parent,
                kind="generation",
                format=name,
                device=device,
                function=spec.function,
                deps=deps,
                available=own.available and all(made[d].available for d in _chain(name)[:-1]),
                reason=own.reason,
            )
            steps.append(made[name])
    checks = [REFERENCE]
    for step in plan.steps:
        if step.kind != "correctness" or step.format not in made:
            continue
        if registry.split_runner(step.runner or "")[0] not in DECODE_FORMATS[step.format].runtimes:
            continue
        key = registry.result_key(step.format, step.runner or "")
        make = made[step.format]
        check = PlannedStep(
            id=f"{CHECK}{key}",
            kind="generation",
            format=step.format,
            runner=step.runner,
            device=step.device,
            function=f"{_STEPS}.generation_check:check",
            deps=[make.id, REFERENCE],
            available=step.available and make.available,
            reason=step.reason or (f"needs {make.id}, which is unavailable" if not make.available else ""),
        )
        steps.append(check)
        if check.available:
            checks.append(check.id)
    if profiling:
        steps.append(
            PlannedStep(
                id=PROFILE,
                kind="generation",
                device=device,
                function=f"{_STEPS}.generation_profile:measure",
                # the formats whose checks passed are measured: one that failed or was rejected leaves
                # the others measured (the step reads how each check ended)
                deps=[REFERENCE],
                after=checks[1:],
                exclusive=True,
            )
        )
    return steps


def _chain(fmt: str) -> list[str]:
    """The decode formats a format is made through, its own last."""
    out = [fmt]
    while DECODE_FORMATS[out[0]].parent:
        out.insert(0, DECODE_FORMATS[out[0]].parent or "")
    return out


def members(step_deps: list[str]) -> list[str]:
    """The format@runner keys the profile step measures: the source's and every check's (its deps)."""
    keys = []
    for dep in step_deps:
        if dep.startswith(CHECK):
            keys.append(dep.removeprefix(CHECK))
    return keys


def reads_model(step: PlannedStep) -> bool:
    """Generation steps that build the user's model: the reference, and the decode steps made from it."""
    if step.id in (REFERENCE, PROFILE):
        return True
    decode = DECODE_FORMATS.get(step.format or "")
    return step.id.startswith("generation/export/") and decode is not None and decode.parent is None
