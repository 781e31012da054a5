"""The plan as a tree (people), JSON (programs) or Mermaid (docs and PR comments)."""

from __future__ import annotations

import json

from rich.text import Text
from rich.tree import Tree

from navctl.plan.kinds import kind
from navctl.plan.models import Plan, PlannedStep
from navctl.status import Status


def _label(step: PlannedStep, hidden: int) -> Text:
    text = Text(step.id, style="bold" if kind(step.kind).makes else "")
    if step.runner:
        text.append(f"  [{step.runner}]", style="cyan")
    if step.available:
        text.append("  ready", style="green")
    else:
        text.append(f"  unavailable: {step.reason}", style="yellow")
        if hidden:
            text.append(f" (and {hidden} step{'s' if hidden > 1 else ''} after it)", style="dim")
    return text


def plan_tree(plan: Plan) -> Tree:
    cuda = "CUDA visible" if plan.cuda_available else "no CUDA"
    root = Tree(
        Text(
            f"plan for {plan.recipe} ({plan.framework}, device {plan.device}, {cuda}): "
            f"{len(plan.steps)} steps, "
            f"{sum(1 for s in plan.steps if not s.available)} unavailable"
        )
    )
    nodes: dict[str, Tree] = {}
    # An unavailable step's unavailable descendants are counted under it, not listed.
    by_id = {s.id: s for s in plan.steps}
    hidden: dict[str, int] = {}
    shown_parent: dict[str, str] = {}
    for step in plan.steps:
        parent = step.deps[0] if step.deps else None
        if parent and step.kind != "select" and not step.available and not by_id[parent].available:
            top = shown_parent.get(parent, parent)
            shown_parent[step.id] = top
            hidden[top] = hidden.get(top, 0) + 1
    for step in plan.steps:
        if kind(step.kind).inline or step.id in shown_parent:
            continue
        parent = nodes.get(step.deps[0]) if step.deps else None
        nodes[step.id] = (parent or root).add(_label(step, hidden.get(step.id, 0)))
    select = plan.steps[-1]
    root.add(Text(f"{select.id}  (after every profile and verify step)", style="bold"))
    for note in plan.notes:
        root.add(Text(note, style="yellow"))
    return root


def batching_note(status: Status | None) -> str:
    """Why a model is run and served without merging samples, as its last run's batch probe found."""
    if status is None or status.batching is None or status.batching.batchable is not False:
        return ""
    return (
        f"not batchable (the last run's samples step, {status.batching.probe}): {status.batching.reason}; "
        "so exports keep the samples' batch, profiling never merges samples, and Triton gets "
        "max_batch_size 0 with no dynamic batching"
    )


def plan_json(plan: Plan) -> str:
    return json.dumps(plan.model_dump(mode="json"), indent=2)


def plan_mermaid(plan: Plan) -> str:
    ids = {step.id: f"s{i}" for i, step in enumerate(plan.steps)}
    lines = ["flowchart LR"]
    for step in plan.steps:
        label = step.id.replace('"', "'")
        shape = f'{ids[step.id]}["{label}"]' if step.available else f'{ids[step.id]}["{label} (unavailable)"]'
        lines.append(f"  {shape}")
        if not step.available:
            lines.append(f"  class {ids[step.id]} unavailable")
    for step in plan.steps:
        for dep in step.deps:
            lines.append(f"  {ids[dep]} --> {ids[step.id]}")
    lines.append("  classDef unavailable stroke-dasharray: 5 5,color:#999")
    return "\n".join(lines)
