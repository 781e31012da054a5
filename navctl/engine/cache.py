"""Reusing a step's earlier result, like DVC's stage cache: same fingerprint, same artifacts on disk."""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import ValidationError

from navctl.contract.step import RESULT_FILE, StepResult
from navctl.engine.workspace import Workspace
from navctl.hashing import sha256_path
from navctl.plan.models import PlannedStep
from navctl.status import SUCCESS_STATES, Status, StepRecord


def read_result(step_dir, kind: str) -> StepResult | None:
    """A step's result.json, or None when it is missing or not a valid result of a step of `kind` (its
    metrics validated as that kind's: navctl.contract.kind_metrics)."""
    try:
        data = json.loads((step_dir / RESULT_FILE).read_text())
        if isinstance(data, dict):
            data.setdefault("kind", kind)  # written before results named their kind: still reusable
        result = StepResult.model_validate(data)
    except (OSError, ValidationError, ValueError):
        return None
    return result if result.kind == kind else None


class StepCache:
    """Answers "can this step's earlier result be reused?" from the previous status.yaml."""

    def __init__(self, previous: Status | None, workspace: Workspace, force: bool, note: Callable[[str], None]) -> None:
        self.previous = previous
        self.ws = workspace
        self.force = force
        self.note = note

    def lookup(self, step: PlannedStep, fingerprint: str) -> tuple[StepRecord, StepResult] | None:
        """The cached record and result when the step succeeded before with this fingerprint and its
        artifacts still have their recorded sha256; None when it must run."""
        if self.force or self.previous is None:
            return None
        old = self.previous.steps.get(step.id)
        if old is None or old.state not in SUCCESS_STATES or old.fingerprint != fingerprint:
            return None
        for artifact in old.artifacts:
            path = self.ws.root / artifact.path
            if not path.exists() or sha256_path(path) != artifact.sha256:
                self.note(f"{step.id}: artifact {artifact.path} is missing or changed; rerunning")
                return None
        result = read_result(self.ws.step_dir(step.id), step.kind)
        if result is None or result.state != "ok":
            return None
        return old.model_copy(update={"state": "cached", "reason": "fingerprint unchanged"}), result
