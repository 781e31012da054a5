"""What one format@runner showed: correctness against the source, verification, profile points; and how
the runners were measured together."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from navctl.generation.records import GenerationResult
from navctl.records.base import Record


class OutputError(Record):
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


class BoundCheck(Record):
    """A sample navctl made at a bound of the shape ranges (min or max), checked like the recorded ones."""

    name: str = Field(
        description="min: every dynamic axis at its smallest; max: every axis but the batch at its largest"
    )
    shapes: dict[str, list[int]]
    passed: bool
    max_abs: float | None = None
    problem: str = ""


class CorrectnessResult(Record):
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
    padding: str = Field("", description="the padded positions left out of the comparison (navctl/steps/padding.py)")


class VerifyResult(Record):
    passed: bool
    message: str = ""
    perturbed_passed: bool | None = Field(
        None,
        description="the verify function's verdict on a copy of the reference perturbed by about its input-driven "
        "spread (None: not tried, the format failed)",
    )
    proves_little: bool = Field(False, description="it passed the format and the perturbed reference alike")


class ProfileRecord(Record):
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
    spread_pct: float | None = Field(
        None, description="how far the kept windows' throughputs lie from their mean at most, in percent: the noise"
    )
    settings: dict[str, Any] | None = Field(None, description="runner settings of this record when tuned")
    vs_reference: float | None = Field(
        None,
        description="throughput over the reference's (the source model's) at this batch size, median of the "
        "ratios in the rounds both were measured in side by side",
    )
    shape_name: str | None = Field(None, description="the profiled shape (profiling.shapes): typical, min, max, ...")
    shapes: dict[str, list[int]] | None = Field(None, description="input name -> the dims measured")


class RunnerResult(Record):
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


class ProfilingInfo(Record):
    """How the runners were measured, and whether the machine let the numbers mean something."""

    interleaved: bool = Field(False, description="runners measured side by side in rounds at each batch size")
    runners: list[str] = Field(default_factory=list, description="format@runner keys measured together")
    reference: str | None = Field(None, description="the format@runner measured again at the end for drift")
    drift_pct: float | None = Field(None, description="the reference's throughput change from start to end")
    unstable_points: int = 0
    points: int = 0
    cores: int | None = Field(None, description="the cores the session could run on")
    other_cores: float | None = Field(
        None, description="the cores other processes kept busy while the session measured, on average (None: unknown)"
    )
    unreliable: str = Field("", description="why the numbers should not be trusted ('' when nothing says so)")
