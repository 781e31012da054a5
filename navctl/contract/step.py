"""The step contract shared by the parent and the step subprocess: spec.json in, result.json out."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from navctl.contract.kind_metrics import AnyMetrics
from navctl.contract.kind_options import AnyOptions, StepKind, keyed
from navctl.contract.records import Artifact

SPEC_FILE = "spec.json"
RESULT_FILE = "result.json"
MODEL_IO_FILE = "model_io.json"
CORRECTNESS_OUTPUTS = "outputs"  # a correctness step's own outputs, kept for the verify step
# The threads a step process uses instead of its spec's while it shares the cores with other steps
# (navctl.engine.run_options.RunOptions.step_env); unset, the spec's.
STEP_THREADS_ENV = "NAVCTL_STEP_THREADS"


class ModelRef(BaseModel):
    entrypoint: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None  # absolute


class CallableRef(BaseModel):
    entrypoint: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class StepSpec(BaseModel):
    """Everything a step needs. Paths are relative to the workspace (the step's cwd) unless noted."""

    step_id: str
    kind: StepKind
    function: str
    framework: str
    format: str | None = None
    runner: str | None = None
    device: str = "cpu"
    recipe_dir: str = Field(description="absolute; user code paths resolve against it")
    model: ModelRef
    dataloader: CallableRef | None = None
    verify: CallableRef | None = None
    artifact: str | None = Field(None, description="what this step writes (export/convert)")
    source_artifact: str | None = Field(None, description="the parent format's artifact (convert)")
    options: AnyOptions = Field(description="the kind's own (navctl.contract.kind_options)")
    threads: int = 1
    seed: int = 0
    memory_limit: int | None = Field(None, description="RLIMIT_AS in bytes for this step process")
    libraries: list[str] = Field(
        default_factory=list,
        description="the installed libraries the user's files import (`module` or `module:names`): runner "
        "processes of runtimes whose artifacts may name operators they register import them first",
    )
    forks_runners: bool = Field(
        False,
        description="the step forks a process per runner: it must not touch the framework's thread pools "
        "first (OpenMP state does not survive a fork), so threads and seeds are set in each child",
    )

    @model_validator(mode="before")
    @classmethod
    def _options_of_kind(cls, data: Any) -> Any:
        # the options are validated as the spec's kind's (absent: that kind's defaults); options of
        # another kind are refused, whichever side of the process boundary reads them
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            data = {**data, "options": keyed(data.get("options", {}), data["kind"], "options")}
        return data


class ErrorRecord(BaseModel):
    type: str
    message: str
    where: str = Field("", description="innermost frame in the user's own code, else the innermost frame")
    traceback: str = ""


class StepResult(BaseModel):
    kind: StepKind = Field(description="the kind of the step that wrote it: its metrics are that kind's")
    state: Literal["ok", "failed", "unavailable", "rejected"]
    message: str = ""
    metrics: AnyMetrics | None = Field(None, description="the kind's own (navctl.contract.kind_metrics)")
    artifacts: list[Artifact] = Field(default_factory=list)
    error: ErrorRecord | None = None
    peak_rss_mb: float | None = Field(None, description="the step process's peak resident memory (VmHWM), MiB")
    cuda_peak_mb: float | None = Field(None, description="torch's peak CUDA memory allocated in the step, MiB")

    @model_validator(mode="before")
    @classmethod
    def _metrics_of_kind(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            metrics = data.get("metrics") or None  # {}: a step that reported nothing
            data = {**data, "metrics": keyed(metrics, data["kind"], "metrics")}
        return data
