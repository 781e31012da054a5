"""The plan: steps with their dependencies and whether this machine can run them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from navctl.contract.kind_options import StepKind  # the kinds the step-kind table (plan.kinds) holds


class PlannedStep(BaseModel):
    id: str
    kind: StepKind
    deps: list[str] = Field(default_factory=list)
    after: list[str] = Field(
        default_factory=list,
        description="steps it waits for without needing them to succeed (a measurement of the formats whose "
        "checks passed: it runs once every check has ended, however each ended)",
    )
    format: str | None = None
    runner: str | None = None
    device: str | None = None
    function: str | None = Field(None, description="'module:function' run in the step subprocess")
    available: bool = True
    reason: str = ""
    exclusive: bool = Field(False, description="runs with no other step alongside (profiling)")
    inline: bool = Field(False, description="runs inside the parent process (pure, framework-free)")


class Plan(BaseModel):
    recipe: str
    framework: str
    device: Literal["cpu", "cuda"]
    cuda_available: bool
    targets: list[str]
    formats: list[str] = Field(description="formats in the plan, parents before children")
    steps: list[PlannedStep]
    notes: list[str] = Field(default_factory=list, description="what an earlier run learned that shapes this one")

    def step(self, step_id: str) -> PlannedStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    def work_behind(self) -> dict[str, int]:
        """For each step, how many non-profile steps wait on it, directly or not: the scheduler starts
        the step with the most work behind it first."""
        children: dict[str, list[str]] = {s.id: [] for s in self.steps}
        for step in self.steps:
            if step.available and not step.exclusive and not step.inline:
                for dep in step.deps:
                    children[dep].append(step.id)
        lengths: dict[str, int] = {}

        def behind(step_id: str) -> int:
            if step_id not in lengths:
                lengths[step_id] = sum(1 + behind(child) for child in children[step_id])
            return lengths[step_id]

        for step in self.steps:
            behind(step.id)
        return lengths
