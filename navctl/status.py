"""status.yaml: navctl's versioned record of a run, written atomically after every step.

Field names are extended, never renamed; `schema_version` changes when a reader would misread.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, PrivateAttr, ValidationError

from navctl.contract.decoder import DecoderInfo
from navctl.contract.records import Artifact, TensorMeta
from navctl.errors import UsageError
from navctl.records.base import Record
from navctl.records.loadtest import LoadtestInfo
from navctl.records.results import ProfilingInfo, RunnerResult

SCHEMA_VERSION = 1
STATUS_FILE = "status.yaml"
# libyaml's safe dumper and loader when PyYAML was built with it: the same documents, 4-5x faster
# (status.yaml is rewritten after every step, by the parent that schedules the steps).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# rejected: a reduced-precision format that ran but missed its accuracy gate; an answer, not a fault
StepState = Literal[
    "pending", "running", "ok", "failed", "timeout", "crashed", "skipped", "cached", "unavailable", "rejected"
]
SUCCESS_STATES = ("ok", "cached")
# In a failed export step's reason when the failure does not count towards the exit code.
EXCUSED_MARK = "not counted as a failure"


class ToolInfo(Record):
    name: str = "navctl"
    version: str


class RecipeInfo(Record):
    path: str
    sha256: str
    name: str


class EnvironmentInfo(Record):
    python: str
    platform: str
    cpu: str
    gpu: list[str] = Field(default_factory=list)
    threads: int = Field(description="CPU threads given to every runner")
    packages: dict[str, str] = Field(default_factory=dict)


class UserFileRecord(Record):
    path: str = Field(description="relative to the recipe's folder where inside it, else absolute")
    sha256: str


class CalibrationInfo(Record):
    source: Literal["split", "factory"] = Field(
        description="split: the first recorded samples; factory: quantization.calibration's samples"
    )
    samples: int
    indices: list[int] | None = Field(None, description="the recorded samples used (split only)")


class StepRecord(Record):
    kind: str
    state: StepState
    reason: str = ""
    duration_s: float | None = None
    started_s: float | None = Field(
        None, description="seconds after the run started that the step began (a reused step: when it was reused)"
    )
    log: str | None = None
    fingerprint: str | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    peak_rss_mb: float | None = Field(
        None,
        description="peak resident memory of the step's process (VmHWM, MiB; forked steps include the "
        "framework libraries they share with navctl's worker)",
    )
    cuda_peak_mb: float | None = Field(None, description="peak CUDA memory allocated by torch in the step, MiB")
    made_by: str | None = Field(None, description="the exporter that made the artifact (export steps)")
    warnings: list[str] = Field(
        default_factory=list,
        description="what the exporter warned while making the artifact (`Category: message (file:line)`; a "
        "recipe's chosen ONNX exporter records its tracer warnings instead of failing)",
    )
    calibration: CalibrationInfo | None = Field(
        None, description="the samples a reduced-precision format calibrated on"
    )


class BatchingInfo(Record):
    """Whether requests may be merged for the model, as the samples step proved it."""

    enabled: bool = Field(description="the recipe's batching.enabled")
    batchable: bool | None = Field(
        None, description="every output is per sample, so samples and requests may be merged (None: not probed)"
    )
    probe: str = Field("", description="what the probe ran, e.g. samples 0 and 1 merged (batch 2 + 3)")
    reason: str = Field("", description="why the model is not batchable, naming the outputs")


class RunInfo(Record):
    state: Literal["running", "finished", "interrupted", "failed"] = "running"
    started_at: str
    finished_at: str | None = None
    exit_code: int | None = None
    device: str = "cpu"


class Status(Record):
    schema_version: int = SCHEMA_VERSION
    tool: ToolInfo
    recipe: RecipeInfo
    environment: EnvironmentInfo
    run: RunInfo
    inputs: list[TensorMeta] = Field(default_factory=list)
    outputs: list[TensorMeta] = Field(default_factory=list)
    user_files: list[UserFileRecord] = Field(
        default_factory=list,
        description="the files of yours the run depends on: those the recipe names, the local modules they "
        "import (transitively) and runtime_files; editing one reruns the steps that read it",
    )
    batching: BatchingInfo | None = Field(None, description="the samples step's batch probe")
    decoder: DecoderInfo | None = Field(None, description="the samples step found a causal LM with a key/value cache")
    steps: dict[str, StepRecord] = Field(default_factory=dict)
    results: dict[str, RunnerResult] = Field(default_factory=dict)
    selection: dict[str, str | None] = Field(default_factory=dict)
    selection_close: dict[str, str] = Field(
        default_factory=dict,
        description="strategy -> why its winner is a close call: it leads the runner-up by no more than the noise",
    )
    selection_behind_source: dict[str, str] = Field(
        default_factory=dict,
        description="strategy -> why its winner is slower than the source model beyond the noise (the source is "
        "never selected: serving the model as it is would be faster)",
    )
    profiling: ProfilingInfo = Field(default_factory=ProfilingInfo)
    best_by_batch_size: dict[str, str] = Field(
        default_factory=dict, description="batch size -> the correct format@runner with the highest throughput"
    )
    loadtest: LoadtestInfo | None = Field(None, description="written by `navctl loadtest` into the package")
    # this run's loads counted by measurements outside the profiling session (navctl.plan.kind_appliers)
    _noted_loads: list[tuple[int | None, float]] = PrivateAttr(default_factory=list)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_beside(path: Path) -> tuple[int, str]:
    """A temp file in `path`'s folder (for a later os.replace) with the mode an ordinary open() gives.

    mkstemp creates files 0600 whatever the umask; status.yaml and packages are meant to be read by CI
    artifact uploaders and colleagues, so they get 0666 less the umask, like any file the user writes.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def write_atomic(path: Path, text: str) -> None:
    """Write through a temp file in the same folder and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_status(status: Status) -> str:
    data = status.model_dump(mode="json", exclude_none=False)
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=120)


def write_status(workspace: Path, status: Status) -> None:
    write_atomic(workspace / STATUS_FILE, dump_status(status))


def parse_status(text: str, where: str) -> Status:
    """Parse status.yaml text; raise UsageError (exit 2) when it is not a valid navctl status."""
    try:
        data: Any = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
    except yaml.YAMLError as exc:
        raise UsageError(f"{where}: status.yaml is not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: status.yaml is not a navctl status (top level is not a mapping)")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise UsageError(
            f"{where}: status.yaml has schema_version {data.get('schema_version')!r}; "
            f"this navctl reads version {SCHEMA_VERSION}"
        )
    try:
        return Status.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"{where}: status.yaml is not a valid navctl status: {loc}: {first['msg']}") from None


def read_status(workspace: Path) -> Status:
    path = workspace / STATUS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{workspace}: no status.yaml here; is it a navctl workspace?") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise UsageError(f"{path}: status.yaml cannot be read ({exc})") from None
    return parse_status(text, str(path))
