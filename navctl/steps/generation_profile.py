"""The generation measurement step: every decoder runner side by side (navctl/generation/rounds.py),
time to the first token per prompt length and per-token decode latency and tokens per second per
batch size, into `results.<format@runner>.generation`."""

from __future__ import annotations

from typing import Any

import numpy as np

from navctl.contract.step import StepResult
from navctl.generation import rounds
from navctl.generation.records import DecodePoint, PrefillPoint
from navctl.plan import registry
from navctl.profiling.machine_load import LoadMeter, load_fields, log_load
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.generation_check import prompts
from navctl.steps.generation_export import layout_of


def _check_state(ctx: StepContext, result_path: str | None) -> str:
    """How a member's generation check ended ('ok' for the source, which has none)."""
    if result_path is None:
        return "ok"
    try:
        return StepResult.model_validate_json(ctx.path(result_path).read_text()).state
    except (OSError, ValueError):
        return "did not finish"


def _steps(ctx: StepContext, layout) -> tuple[dict[str, Any], dict[str, str]]:
    from navctl.generation.runtimes import artifact_step, load_source, source_step

    opts = ctx.spec.options
    steps, problems = {}, {}
    for key, artifact in opts.members.items():
        ended = _check_state(ctx, opts.checks.get(key))
        if ended != "ok":  # failed, rejected, crashed or skipped: its figures would mean nothing
            problems[key] = f"its generation check {ended}"
            continue
        fmt, runner = registry.split_key(key)
        runtime, device = registry.split_runner(runner)
        try:
            if fmt == registry.SOURCE:
                steps[key] = source_step(load_source(ctx.spec, ctx.recipe_dir), layout, device)
            else:
                steps[key] = artifact_step(runtime, ctx.path(artifact), layout, ctx.spec.threads, device)
        except Exception as exc:  # noqa: BLE001 - one runner that cannot load leaves the others measured
            problems[key] = f"{type(exc).__name__}: {exc}"
    return steps, problems


def measure(ctx: StepContext) -> dict[str, Any]:
    opts = ctx.spec.options
    layout = layout_of(ctx)
    settings = {**opts.profiling, "max_rounds": opts.max_rounds, "max_new_tokens": opts.max_new_tokens}
    windows = settings["windows"]
    steps, problems = _steps(ctx, layout)
    if opts.reference not in steps:
        raise StepFailed(f"the source could not run: {problems.get(opts.reference, 'not loaded')}")
    ids, mask = prompts(ctx)[0]
    base = ids[-1][mask[-1] == 1]  # an unpadded row's tokens
    out: dict[str, dict[str, Any]] = {key: {"prefill": [], "decode": [], "side_by_side": True} for key in steps}
    ratios: dict[str, dict[str, float]] = {key: {} for key in steps}
    meter = LoadMeter()
    for length in opts.prompt_lengths:
        series = rounds.prefill(steps, layout, base, length, settings)
        for key, s in series.items():
            times = np.array(rounds.kept(s, windows)) * 1000.0
            out[key]["prefill"].append(
                PrefillPoint(
                    prompt_length=length,
                    ttft_ms=float(np.median(times)),
                    ttft_p90_ms=float(np.percentile(times, 90)),
                    stable=s.stable,
                    windows=len(s.figures),
                ).model_dump()
            )
            ratio = rounds.same_round_ratio(series, key, opts.reference)
            if ratio is not None and length == opts.prompt_lengths[0]:
                ratios[key]["ttft"] = round(ratio, 4)
    length = opts.prompt_lengths[0]
    for batch in opts.batch_sizes:
        series = rounds.decode(steps, layout, base, length, batch, settings)
        for key, s in series.items():
            times = np.array(rounds.kept(s, windows)) * 1000.0
            p50, p90, p99 = np.percentile(times, [50, 90, 99])
            out[key]["decode"].append(
                DecodePoint(
                    batch_size=batch,
                    prompt_length=length,
                    decode_p50_ms=float(p50),
                    decode_p90_ms=float(p90),
                    decode_p99_ms=float(p99),
                    tokens_per_s=batch * len(times) / (times.sum() / 1000.0),
                    stable=s.stable,
                    steps=len(times),
                ).model_dump()
            )
            ratio = rounds.same_round_ratio(series, key, opts.reference)
            if ratio is not None and batch == opts.batch_sizes[0]:
                ratios[key]["tokens_per_s"] = round(ratio, 4)
    load = meter.stop()
    for key in steps:
        out[key]["vs_source"] = ratios[key]
    if problems:
        ctx.note = "; ".join(f"{key} not measured: {why}" for key, why in problems.items())
    log_load(ctx.log, load)
    return {"generation": out, **load_fields(load)}
