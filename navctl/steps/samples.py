"""The samples step: call the dataloader, record inputs, run the source model, record its outputs.

It also learns the model's input/output names, dtypes and shapes (-1 on dynamic axes) for every
later step, refuses samples that disagree with each other, and, with batching on, proves which outputs
are per sample (navctl/steps/batch_probe.py).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from navctl.contract.decoder import detect as detect_decoder
from navctl.contract.loading import load_callable
from navctl.contract.records import TensorMeta
from navctl.contract.step import MODEL_IO_FILE, CallableRef
from navctl.contract.tensors import INPUT_DIR, OUTPUT_DIR, ModelIO, is_leaf, save_arrays, to_numpy
from navctl.plan import registry
from navctl.status import BatchingInfo
from navctl.steps import batch_probe
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.common import runner_for
from navctl.steps.shape_ranges import name_output_axes, ranged_inputs
from navctl.steps.shaped_feeds import record_bounds
from navctl.steps.synthetic import dynamic_axes, synthetic_samples

MAX_SAMPLES = 256


def collect(ctx: StepContext) -> dict[str, Any]:
    spec = ctx.spec
    opts = spec.options
    source_runner = registry.runner_name(registry.SOURCE_RUNTIMES[spec.framework][0], spec.device)
    runner = runner_for(ctx, source_runner, None)
    runner.load()
    if spec.dataloader is not None:
        raw = factory_samples(spec.dataloader, ctx.recipe_dir)
        feeds, call = normalize(raw, _signature_names(runner), opts.input_names)
    else:
        feeds, call = synthetic_samples(runner, spec.seed, opts.batch_axis), "keyword"
        # the model's own dynamic axes stay dynamic, though random samples hold one size there
        declared = dynamic_axes(runner, opts.batch_axis)
        opts = opts.model_copy(update={"input_dynamic_axes": declared | opts.input_dynamic_axes})
        if declared:
            axes = ", ".join(f"'{name}' axis {', '.join(map(str, found))}" for name, found in declared.items())
            ctx.log(f"random samples: {axes} dynamic in the model, checked at size 1 only (a dataloader checks more)")
    _check_consistent(feeds, "input")
    batching, axis = opts.batching, opts.batch_axis
    # inputs of different lengths along the batch axis (CLIP's 3 texts and 2 images) share no batch
    unshared = _check_batch_axis(feeds, axis) if batching else ""
    batching = batching and not unshared
    inputs_meta = _meta(feeds, batching, axis, opts.input_dynamic_axes)
    provisional = ModelIO(
        inputs=inputs_meta, outputs=[], call=call, batching=batching, batch_axis=axis, samples=len(feeds)
    )
    runner.config.io = provisional
    outputs = []
    skipped: set[str] = set()
    for i, feed in enumerate(feeds):
        try:
            out = runner.infer(feed)
        except Exception as exc:
            # StepFailed, not type(exc)(...): some exception types take more than a message
            raise StepFailed(f"the source model failed on sample {i}: {type(exc).__name__}: {exc}") from exc
        outputs.append(out)
        skipped.update(getattr(runner, "skipped_outputs", []))
    batch_probe.check_output_lists(feeds, outputs, axis)
    outputs = _rename_outputs(outputs, opts.output_names)
    _check_consistent(outputs, "output")
    _check_finite(outputs)
    io = provisional.model_copy(update={"outputs": _meta(outputs, False, axis, {})})
    notes = [f"left out, the model returned None: {', '.join(map(repr, sorted(skipped)))}"] if skipped else []
    if batching:
        io = io.model_copy(update={"outputs": _output_batch_axis(io.outputs, outputs, feeds, axis)})
        fixed = _meta(feeds, False, axis, opts.input_dynamic_axes), _meta(outputs, False, axis, {})
        infer = _probe_infer(runner, opts.output_names)
        io = batch_probe.prove(io, feeds, outputs, infer, opts.probe_tolerance, spec.seed, fixed)
        if not io.batchable:
            notes.append(f"not batchable, requests are never merged: {io.batch_reason}")
    elif unshared:
        io = io.model_copy(update={"batchable": False, "batch_reason": unshared})
        notes.append(f"not batchable, requests are never merged: {unshared}")
    ctx.note = "; ".join(notes)
    # ranges once the probe has said whether the batch axis is one (a model that is not batchable keeps its batch)
    io.inputs = ranged_inputs(io.inputs, feeds, opts.model_copy(update={"batching": io.batching}))
    io.outputs = name_output_axes(io.outputs, outputs, io.inputs, feeds, axis)
    for i, (feed, out) in enumerate(zip(feeds, outputs, strict=True)):
        save_arrays(ctx.path(f"{INPUT_DIR}/{i}.npz"), [feed[n] for n in io.input_names])
        save_arrays(ctx.path(f"{OUTPUT_DIR}/{i}.npz"), [out[n] for n in io.output_names])
        ctx.add_artifact(f"{INPUT_DIR}/{i}.npz")
        ctx.add_artifact(f"{OUTPUT_DIR}/{i}.npz")
    io = record_bounds(ctx, feeds, io, _probe_infer(runner, opts.output_names))
    io.decoder = detect_decoder(io.inputs, io.outputs, opts.cache_outputs)  # the executor adds its steps
    io.write(ctx.path(MODEL_IO_FILE))
    ctx.add_artifact(MODEL_IO_FILE)
    runner.close()
    return {
        "samples": len(feeds),
        "call": call,
        "inputs": [m.model_dump() for m in io.inputs],
        "outputs": [m.model_dump() for m in io.outputs],
        "batching": BatchingInfo(
            enabled=opts.batching, batchable=io.batchable, probe=io.batch_probe, reason=io.batch_reason
        ).model_dump(),
        **({"decoder": io.decoder.model_dump()} if io.decoder else {}),
    }


def factory_samples(
    ref: CallableRef, recipe_dir: Path, what: str = "dataloader", limit: int = MAX_SAMPLES
) -> list[Any]:
    """Call a sample factory (the dataloader, a calibration set) and take up to `limit` samples of it."""
    factory = load_callable(ref.entrypoint, recipe_dir)
    produced = factory(**ref.kwargs)
    if is_leaf(produced) or isinstance(produced, Mapping):
        raise StepFailed(
            f"the {what} '{ref.entrypoint}' returned a single {type(produced).__name__}; "
            "it must return an iterable of samples (e.g. a list), each sample one batch"
        )
    try:
        iterator = iter(produced)
    except TypeError:
        raise StepFailed(
            f"the {what} '{ref.entrypoint}' returned a {type(produced).__name__}, which is not iterable"
        ) from None
    samples = list(itertools.islice(iterator, limit))
    if not samples:
        raise StepFailed(f"the {what} '{ref.entrypoint}' produced no samples")
    if len(samples) == limit:
        print(f"[navctl] using the first {limit} samples of the {what}", flush=True)
    return samples


def _signature_names(runner: Any) -> list[str]:
    if getattr(runner, "signature_names", None) is not None:
        return runner.signature_names
    model = getattr(runner, "model", None)
    target = getattr(model, "forward", model)
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in kinds and p.name != "self"]


def normalize(raw: list[Any], signature: list[str], names: list[str] | None) -> tuple[list[dict], str]:
    """Each sample as a dict name -> array; the call style the model needs ('positional' or 'keyword')."""
    first = raw[0]
    call = "keyword" if isinstance(first, Mapping) else "positional"
    feeds = []
    for i, sample in enumerate(raw):
        if call == "keyword":
            if not isinstance(sample, Mapping):
                raise StepFailed(f"sample {i} is a {type(sample).__name__} but sample 0 is a dict")
            feed = {str(k): _array(v, i, str(k)) for k, v in sample.items()}
            if names and list(feed) != names:
                raise StepFailed(f"recipe inputs {names} do not match the dataloader's keys {list(feed)}")
        else:
            items = [sample] if is_leaf(sample) else sample
            if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
                raise StepFailed(
                    f"sample {i} is a {type(sample).__name__}; a sample is a tensor, a tuple/list or a dict"
                )
            chosen = names or (signature if len(signature) >= len(items) else [])
            keys = [chosen[j] if j < len(chosen) else f"input_{j}" for j in range(len(items))]
            feed = {key: _array(v, i, key) for key, v in zip(keys, items, strict=True)}
        feeds.append(feed)
    return feeds, call


def _array(value: Any, sample: int, name: str) -> np.ndarray:
    if not is_leaf(value):
        raise StepFailed(f"sample {sample}, input '{name}': a {type(value).__name__} is not a tensor or array")
    array = to_numpy(value)
    if array.dtype == object:
        raise StepFailed(f"sample {sample}, input '{name}': object arrays cannot be fed to a model")
    return array


def _check_consistent(items: list[dict[str, np.ndarray]], what: str) -> None:
    ref = items[0]
    for i, item in enumerate(items[1:], start=1):
        if list(item) != list(ref):
            raise StepFailed(f"sample {i}: {what}s {list(item)} differ from sample 0's {list(ref)}")
        for name, array in item.items():
            base = ref[name]
            if array.dtype != base.dtype:
                raise StepFailed(
                    f"sample {i}, {what} '{name}': dtype {array.dtype} differs from sample 0's {base.dtype}"
                )
            if array.ndim != base.ndim:
                raise StepFailed(
                    f"sample {i}, {what} '{name}': rank {array.ndim} (shape {list(array.shape)}) differs "
                    f"from sample 0's rank {base.ndim} (shape {list(base.shape)})"
                )


def _check_batch_axis(feeds: list[dict[str, np.ndarray]], axis: int) -> str:
    """'' when every sample's inputs hold one batch size along `axis`, else why they share no batch."""
    for i, feed in enumerate(feeds):
        sizes = {}
        for name, array in feed.items():
            if array.ndim <= axis:
                raise StepFailed(
                    f"sample {i}, input '{name}' has shape {list(array.shape)}: no batch axis {axis}; "
                    "set batching.batch_axis, or batching.enabled: false"
                )
            sizes[name] = array.shape[axis]
        if len(set(sizes.values())) > 1:
            return f"the inputs disagree on the batch size along axis {axis} (sample {i}: {sizes})"
    return ""


def _check_finite(outputs: list[dict[str, np.ndarray]]) -> None:
    for i, out in enumerate(outputs):
        for name, array in out.items():
            if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                bad = "NaN" if np.isnan(array).any() else "Inf"
                raise StepFailed(
                    f"the source model's output '{name}' holds {bad} on sample {i}; "
                    "it cannot serve as the correctness reference"
                )


def _meta(
    items: list[dict[str, np.ndarray]],
    batching: bool,
    axis: int,
    dynamic: dict[str, list[int]],
) -> list[TensorMeta]:
    out = []
    for name, base in items[0].items():
        shape = list(base.shape)
        for item in items[1:]:
            shape = [d if d == other else -1 for d, other in zip(shape, item[name].shape, strict=True)]
        if batching and len(shape) > axis:
            shape[axis] = -1
        for extra in dynamic.get(name, []):
            if extra < len(shape):
                shape[extra] = -1
        out.append(TensorMeta(name=name, dtype=str(base.dtype), shape=shape))
    return out


def _output_batch_axis(
    metas: list[TensorMeta], outputs: list[dict[str, np.ndarray]], feeds: list[dict[str, np.ndarray]], axis: int
) -> list[TensorMeta]:
    """Outputs whose size on the batch axis follows the input batch size are dynamic there too."""
    batch = [next(iter(f.values())).shape[axis] for f in feeds]
    fixed = []
    for meta in metas:
        follows = all(
            out[meta.name].ndim > axis and out[meta.name].shape[axis] == b
            for out, b in zip(outputs, batch, strict=True)
        )
        shape = list(meta.shape)
        if follows:
            shape[axis] = -1
        fixed.append(meta.model_copy(update={"shape": shape}))
    return fixed


def _probe_infer(runner: Any, names: list[str] | None) -> batch_probe.Infer:
    """The source model for the batch probe, outputs renamed as the recipe says when their count allows."""

    def infer(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = runner.infer(feed)
        return dict(zip(names, out.values(), strict=True)) if names and len(names) == len(out) else out

    return infer


def _rename_outputs(outputs: list[dict[str, np.ndarray]], names: list[str] | None) -> list[dict[str, np.ndarray]]:
    if not names:
        return outputs
    have = list(outputs[0])
    if len(have) != len(names):
        raise StepFailed(f"the recipe names {len(names)} outputs {names}, but the model returns {len(have)}: {have}")
    return [dict(zip(names, out.values(), strict=True)) for out in outputs]
