"""status.yaml: navctl's versioned record of a run, written atomically after every step.

Field names are extended, never renamed; `schema_version` changes when a reader would misread.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from navctl.contract.decoder import DecoderInfo
from navctl.contract.records import Artifact, TensorMeta
from navctl.errors import UsageError
from navctl.generation.records import GenerationResult

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


class _Model(BaseModel):
    # defer_build: a step process uses a few of these models; the parent builds Status when it first
    # reads or writes one (the same cost, paid once, where it is needed)
    model_config = ConfigDict(extra="allow", defer_build=True)


class ToolInfo(_Model):
    name: str = "navctl"
    version: str


class RecipeInfo(_Model):
    path: str
    sha256: str
    name: str


class EnvironmentInfo(_Model):
    python: str
    platform: str
    cpu: str
    gpu: list[str] = Field(default_factory=list)
    threads: int = Field(description="CPU threads given to every runner")
    packages: dict[str, str] = Field(default_factory=dict)


class UserFileRecord(_Model):
    path: str = Field(description="relative to the recipe's folder where inside it, else absolute")
    sha256: str


class CalibrationInfo(_Model):
    source: Literal["split", "factory"] = Field(
        description="split: the first recorded samples; factory: quantization.calibration's samples"
    )
    samples: int
    indices: list[int] | None = Field(None, description="the recorded samples used (split only)")


class StepRecord(_Model):
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


class OutputError(_Model):
    max_abs: float | None
    max_rel: float | None
    atol: float | None = Field(description="None: no elementwise check (a reduced-precision gate without one)")
    rtol: float | None
    passed: bool
    problem: str = ""
    mean_abs: float | None = Field(None, description="mean absolute error over every element checked")
    cosine: float | None = Field(None, description="cosine similarity with the source's output")
    top1: float | None = Field(
        None, description="top-1 agreement with the source (outputs that look like class scores)"
    )
    ref_max_abs: float | None = Field(None, description="the largest |reference| over every sample")
    ref_std: float | None = Field(
        None, description="the standard deviation of all the reference's elements (not input-driven: see input_spread)"
    )
    error_to_spread: float | None = Field(None, description="max_abs / ref_std: the error against what varies")
    warning: str = Field("", description="why a pass means little (a constant or tiny reference, a weak gate)")
    input_spread: float | None = Field(
        None,
        description="how much the output depends on the input: each element's standard deviation across inputs "
        "(rows along the batch axis of every recorded sample), root mean square over the elements",
    )
    error_to_input_spread: float | None = Field(
        None, description="the error's root mean square over input_spread (0.5 or more: the pass proves little)"
    )
    top1_baseline: float | None = Field(
        None,
        description="top-1 agreement a format that always answers the most common reference class would score "
        "(outputs top-1 agreement gates)",
    )
    proves_little: bool = Field(
        False, description="the check passed, but would pass a format far off in what the input changes (warning)"
    )


class BoundCheck(_Model):
    """A sample navctl made at a bound of the shape ranges (min or max), checked like the recorded ones."""

    name: str = Field(
        description="min: every dynamic axis at its smallest; max: every axis but the batch at its largest"
    )
    shapes: dict[str, list[int]]
    passed: bool
    max_abs: float | None = None
    problem: str = ""


class CorrectnessResult(_Model):
    passed: bool
    outputs: dict[str, OutputError] = Field(default_factory=dict)
    problem: str = ""
    warnings: list[str] = Field(default_factory=list, description="outputs whose check means little")
    proves_little: bool = Field(False, description="some output passed a check that proves little (see warnings)")
    precision: str = Field("fp32", description="the candidate's precision; below fp32/tf32 a gate applies")
    gate: str = Field("", description="the gate a reduced-precision candidate had to pass")
    samples: list[int] | None = Field(
        None, description="the recorded samples checked, when not all (those calibration never saw)"
    )
    calibration: str = Field(
        "",
        description="split: the first recorded samples calibrated, the rest were checked; factory: a "
        "calibration factory's samples calibrated, every recorded sample was checked",
    )
    shapes: list[dict[str, list[int]]] = Field(
        default_factory=list, description="every distinct set of input shapes checked, bound samples included"
    )
    bounds: list[BoundCheck] = Field(
        default_factory=list, description="the samples made at the ranges' bounds that the samples lack"
    )


class VerifyResult(_Model):
    passed: bool
    message: str = ""
    perturbed_passed: bool | None = Field(
        None,
        description="the verify function's verdict on a copy of the reference perturbed by about its input-driven "
        "spread (None: not tried, the format failed)",
    )
    proves_little: bool = Field(False, description="it passed the format and the perturbed reference alike")


class ProfileRecord(_Model):
    batch_size: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    throughput: float = Field(description="samples per second")
    cv: float = Field(description="coefficient of variation of the request latencies")
    stable: bool
    requests: int
    settings: dict[str, Any] | None = Field(None, description="runner settings of this record when tuned")
    vs_reference: float | None = Field(
        None,
        description="throughput over the reference's (the source model's) at this batch size, median of the "
        "ratios in the rounds both were measured in side by side",
    )
    shape_name: str | None = Field(None, description="the profiled shape (profiling.shapes): typical, min, max, ...")
    shapes: dict[str, list[int]] | None = Field(None, description="input name -> the dims measured")


class RunnerResult(_Model):
    format: str
    runner: str
    correctness: CorrectnessResult | None = None
    verify: VerifyResult | None = None
    profile: list[ProfileRecord] = Field(
        default_factory=list, description="the points at the shape selection compares (selection.shape)"
    )
    profile_shapes: list[ProfileRecord] = Field(
        default_factory=list, description="the points at the other shapes profiled (profiling.shapes)"
    )
    profile_stopped: str = Field("", description="why the batch sweep ended early (e.g. out of memory at 256)")
    tuning: list[dict[str, Any]] = Field(default_factory=list, description="every setting tried, when tuned")
    peak_rss_mb: float | None = Field(None, description="the runner's process peak resident memory while profiled")
    generation: GenerationResult | None = Field(None, description="decoders: the greedy check and its figures")


class ProfilingInfo(_Model):
    """How the runners were measured, and whether the machine let the numbers mean something."""

    interleaved: bool = Field(False, description="runners measured side by side in rounds at each batch size")
    runners: list[str] = Field(default_factory=list, description="format@runner keys measured together")
    reference: str | None = Field(None, description="the format@runner measured again at the end for drift")
    drift_pct: float | None = Field(None, description="the reference's throughput change from start to end")
    unstable_points: int = 0
    points: int = 0
    unreliable: str = Field("", description="why the numbers should not be trusted ('' when nothing says so)")


class ServerSplit(_Model):
    """Where a request's time went inside Triton, averaged over a load point (its statistics endpoint)."""

    queue_ms: float = Field(description="waiting in the scheduler's queue (dynamic batching waits here)")
    compute_ms: float = Field(description="input copy + model execution + output copy")
    executions: int = Field(description="model executions (batches) the server ran")
    avg_batch: float = Field(description="requests per execution: how much dynamic batching merged")


class LoadPoint(_Model):
    mode: Literal["concurrency", "request-rate"]
    level: float = Field(description="requests in flight (concurrency) or requests per second sent (request-rate)")
    requests: int = Field(description="answered requests in the measured windows")
    throughput: float = Field(description="inferences (samples) per second answered")
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    errors: int = 0
    dropped: int = Field(0, description="open loop only: arrivals not sent because too many were in flight")
    windows: int = 0
    stable: bool = Field(description="the last 3 windows agreed within 10 % in throughput and mean latency")
    server: ServerSplit | None = None


class ServingConfig(_Model):
    """The Triton batching settings a load test served with (what `navctl triton --from-loadtest` writes)."""

    dynamic_batching: bool = True
    max_queue_delay_us: int = 100
    preferred_batch_sizes: list[int] = Field(default_factory=list)
    instances: int = 1
    max_batch_size: int | None = None

    def describe(self) -> str:
        if self.dynamic_batching:
            preferred = f", preferred {self.preferred_batch_sizes}" if self.preferred_batch_sizes else ""
            batching = f"dynamic batching (queue delay {self.max_queue_delay_us} us{preferred})"
        else:
            batching = "no dynamic batching"
        return f"{batching}, {self.instances} instance{'s' if self.instances != 1 else ''}"


class LoadtestRun(_Model):
    config: ServingConfig
    points: list[LoadPoint] = Field(default_factory=list)
    within_budget: LoadPoint | None = Field(None, description="the highest load whose p99 met the budget")


class LoadtestInfo(_Model):
    """`navctl loadtest` results: one served format under many clients, through a real Triton server."""

    version: int = 1
    key: str = Field(description="the format@runner served")
    protocol: Literal["http", "grpc"] = "http"
    driver: str = Field(description="perf_analyzer, or navctl's tritonclient asyncio driver")
    batch: int = Field(1, description="samples per request")
    shape_name: str = Field("", description="typical, min, max, or given (--shape)")
    shapes: dict[str, list[int]] = Field(default_factory=dict, description="input name -> the dims every request sent")
    latency_budget_ms: float | None = None
    floor: LoadPoint | None = Field(None, description="the driver against a model that does nothing: the floor")
    runs: list[LoadtestRun] = Field(default_factory=list, description="one per serving configuration tried")
    best: ServingConfig | None = Field(None, description="the configuration that served the most within budget")
    answer: str = Field("", description="the one line users asked for")
    machine: str = ""
    finished_at: str = ""


class BatchingInfo(_Model):
    """Whether requests may be merged for the model, as the samples step proved it."""

    enabled: bool = Field(description="the recipe's batching.enabled")
    batchable: bool | None = Field(
        None, description="every output is per sample, so samples and requests may be merged (None: not probed)"
    )
    probe: str = Field("", description="what the probe ran, e.g. samples 0 and 1 merged (batch 2 + 3)")
    reason: str = Field("", description="why the model is not batchable, naming the outputs")


class RunInfo(_Model):
    state: Literal["running", "finished", "interrupted", "failed"] = "running"
    started_at: str
    finished_at: str | None = None
    exit_code: int | None = None
    device: str = "cpu"


class Status(_Model):
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
    profiling: ProfilingInfo = Field(default_factory=ProfilingInfo)
    best_by_batch_size: dict[str, str] = Field(
        default_factory=dict, description="batch size -> the correct format@runner with the highest throughput"
    )
    loadtest: LoadtestInfo | None = Field(None, description="written by `navctl loadtest` into the package")


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
