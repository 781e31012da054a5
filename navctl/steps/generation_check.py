"""The generation check: greedy decoding of the dataloader's prompts through a format's decode step,
token for token and logits step by step against the source's (`reference` makes those, and checks
the navctl loop over the eager model against transformers' own `generate`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from navctl.contract.kind_options import GenerationOptions
from navctl.generation.loop import Generation, first_divergence, greedy
from navctl.generation.records import Divergence, GenerationCheck
from navctl.plan import registry
from navctl.steps.child import StepContext, StepFailed, StepRejected
from navctl.steps.common import recorded_samples
from navctl.steps.generation_export import layout_of

REFERENCE_DIR = "generation/reference"


def prompts(ctx: StepContext) -> list[tuple[np.ndarray, np.ndarray]]:
    """(token ids, attention mask) per dataloader batch; a model without a mask gets ones."""
    io, inputs, _ = recorded_samples(ctx)
    decoder = io.decoder
    assert decoder is not None  # layout_of refused this before
    out = []
    for feed in inputs:
        ids = feed[decoder.input_ids].astype(np.int64)
        mask = feed[decoder.attention_mask] if decoder.attention_mask else np.ones_like(ids)
        out.append((ids, mask.astype(np.int64)))
    return out


def _key(ctx: StepContext) -> str:
    return registry.result_key(ctx.spec.format or "", ctx.spec.runner or "")


def reference(ctx: StepContext) -> dict[str, Any]:
    import torch

    from navctl.generation.runtimes import load_source, source_step

    layout = layout_of(ctx)
    new = ctx.spec.options.max_new_tokens
    model = load_source(ctx.spec, ctx.recipe_dir)
    step = source_step(model, layout, ctx.spec.device)
    runs = []
    ctx.path(REFERENCE_DIR).mkdir(parents=True, exist_ok=True)
    for i, (ids, mask) in enumerate(prompts(ctx)):
        run = greedy(step, layout, ids, mask, new)
        relative = f"{REFERENCE_DIR}/{i}.npz"
        np.savez(ctx.path(relative), tokens=run.tokens, logits=np.stack(run.step_logits))
        ctx.add_artifact(relative)
        runs.append(run)
    # The reference itself: the loop over the eager model must pick what transformers' generate picks.
    expected = []
    if hasattr(model, "generate"):
        with torch.no_grad():
            for ids, mask in prompts(ctx):
                pad = int(getattr(model.config, "pad_token_id", None) or 0)
                out = model.generate(
                    input_ids=torch.from_numpy(ids),
                    attention_mask=torch.from_numpy(mask),
                    max_new_tokens=new,
                    do_sample=False,
                    pad_token_id=pad,
                )
                expected.append(out[:, ids.shape[1] :].numpy())
    check = compare(expected, runs, ctx.spec.options, generate=True) if expected else None
    result = {"check": check.model_dump()} if check else {}
    metrics = {"generation": {_key(ctx): result}}
    if check is not None and not check.passed:
        raise StepFailed(f"the greedy loop disagrees with transformers' generate: {check.problem}", metrics)
    return metrics


def compare(
    expected: list[np.ndarray],
    runs: list[Generation],
    opts: GenerationOptions,
    generate: bool = False,
    ref_logits: list[np.ndarray] | None = None,
) -> GenerationCheck:
    """Tokens (and, given the reference's logits, each step's logits) of every prompt against the source's.
    `generate`: the expected tokens are transformers' generate's, which may stop at an eos."""
    precision = opts.precision
    reduced = precision != "fp32"
    divergence = None
    for index, (want, run) in enumerate(zip(expected, runs, strict=True)):
        # generate stops a row at its eos and pads the rest: compare what it decoded
        got = run.tokens[:, : want.shape[1]] if generate else run.tokens
        found = first_divergence(want, got)
        if found is not None:
            divergence = Divergence(prompt=index, **found)
            break
    errors: list[float] = []
    within = True
    for want, run in zip(ref_logits or [], runs, strict=False):
        for step, got in enumerate(run.step_logits[: len(want)]):
            diff = np.abs(got - want[step])
            within = within and bool(np.all(diff <= opts.atol + opts.rtol * np.abs(want[step])))
            if step < len(errors):
                errors[step] = max(errors[step], float(diff.max()))
            else:
                errors.append(float(diff.max()))
    tokens_match = divergence is None
    passed = tokens_match if reduced or generate else tokens_match and within
    problem = ""
    if divergence is not None:
        problem = (
            f"prompt {divergence.prompt} row {divergence.row} diverges at step {divergence.step}: "
            f"expected token {divergence.expected}, got {divergence.actual}"
        )
    elif not passed:
        worst = int(np.argmax(errors))
        problem = f"tokens identical, but step {worst}'s logits differ by {errors[worst]:.3g} (atol {opts.atol:g})"
    return GenerationCheck(
        passed=passed,
        tokens_match=tokens_match,
        prompts=len(runs),
        new_tokens=int(runs[0].tokens.shape[1]) if runs else 0,
        first_divergence=divergence,
        logits_max_abs=errors,
        atol=opts.atol,
        rtol=opts.rtol,
        precision=precision,
        gate="tokens (reduced precision)" if reduced else ("tokens vs generate" if generate else "tokens and logits"),
        problem=problem,
    )


def check(ctx: StepContext) -> dict[str, Any]:
    from navctl.generation.runtimes import artifact_step

    layout = layout_of(ctx)
    runtime, _ = registry.split_runner(ctx.spec.runner or "")
    step = artifact_step(
        runtime, ctx.path(ctx.spec.options.decode_artifact), layout, ctx.spec.threads, ctx.spec.device
    )
    expected, logits, runs = [], [], []
    for i, (ids, mask) in enumerate(prompts(ctx)):
        with np.load(ctx.path(f"{REFERENCE_DIR}/{i}.npz"), allow_pickle=False) as data:
            ref = {name: data[name] for name in ("tokens", "logits")}
        expected.append(ref["tokens"])
        logits.append(ref["logits"])
        runs.append(greedy(step, layout, ids, mask, int(ref["tokens"].shape[1])))
    result = compare(expected, runs, ctx.spec.options, ref_logits=logits)
    metrics = {"generation": {_key(ctx): {"check": result.model_dump()}}}
    if not result.passed:
        if result.precision != "fp32":
            raise StepRejected(f"generation: {result.problem}", metrics)
        raise StepFailed(f"generation: {result.problem}", metrics)
    rows = sum(int(r.tokens.shape[0]) for r in runs)  # a batch of the dataloader holds several prompts
    batches = f" in {result.prompts} batches" if rows != result.prompts else ""
    ctx.note = f"{rows} prompts{batches} x {result.new_tokens} tokens identical to the source"
    return metrics
