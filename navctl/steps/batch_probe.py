"""The batch probe: whether each output is per sample, proven on the source model before anything merges.

Dynamic batching (Triton's, and navctl's profiling at batch sizes beyond the samples') concatenates
requests along the batch axis and splits the answer back by rows. That holds only when row i of every
output depends on input row i alone: not for a similarity matrix (CLIP's images x texts), a scalar, or
a list with one entry per image (a detector's boxes). So the samples step runs the model on two parts
merged and on each alone: an output is per sample when the merged answer, split at the first part's
size, gives each part's own answer within the recipe's tolerance. A model with any other output is not
batchable: it keeps the samples' batch, and servers never merge requests for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from navctl.contract.kind_options import Tolerance as ProbeTolerance
from navctl.contract.records import BatchProbe, TensorMeta
from navctl.contract.tensors import ModelIO
from navctl.status import BatchingInfo
from navctl.steps.batch_split import judge
from navctl.steps.child import StepFailed

Feed = dict[str, np.ndarray]
Infer = Callable[[Feed], Feed]
NAMED = 3  # outputs named in the model's reason; the rest are counted


@dataclass
class Parts:
    """Two parts of a batch, and the model's answers known so far (None: still to be run)."""

    description: str
    first: Feed
    second: Feed
    first_out: Feed | None = None
    second_out: Feed | None = None
    merged_out: Feed | None = None
    shuffled: bool = False  # `second` is `first` with its values shuffled


@dataclass
class Verdict:
    batchable: bool
    probe: str
    outputs: dict[str, BatchProbe] = field(default_factory=dict)
    reason: str = ""

    def info(self) -> BatchingInfo:
        return BatchingInfo(enabled=True, batchable=self.batchable, probe=self.probe, reason=self.reason)


@dataclass
class Tolerance:
    atol: float = 1.0e-4
    rtol: float = 1.0e-3
    outputs: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: ProbeTolerance | None) -> Tolerance:
        if options is None:
            return cls()
        per = {name: (float(a), float(r)) for name, (a, r) in options.outputs.items()}
        return cls(options.atol, options.rtol, per)

    def of(self, name: str) -> tuple[float, float]:
        return self.outputs.get(name, (self.atol, self.rtol))


def batch_size(feed: Feed, axis: int) -> int:
    return next(iter(feed.values())).shape[axis]


def _other_dims(feed: Feed, axis: int) -> dict[str, list[int]]:
    return {name: [d for i, d in enumerate(a.shape) if i != axis] for name, a in feed.items()}


def merge(first: Feed, second: Feed, axis: int) -> Feed:
    return {name: np.concatenate([first[name], second[name]], axis=axis) for name in first}


def choose_parts(feeds: list[Feed], outputs: list[Feed], axis: int, seed: int = 0) -> Parts:
    """Two samples the model can take merged; else one sample of batch >= 2 split in two; else sample 0
    and a copy with its values shuffled (a copy of itself would hide outputs that mix samples)."""
    for i, j in itertools.combinations(range(len(feeds)), 2):
        if _other_dims(feeds[i], axis) == _other_dims(feeds[j], axis):
            sizes = f"batch {batch_size(feeds[i], axis)} + {batch_size(feeds[j], axis)}"
            return Parts(f"samples {i} and {j} merged ({sizes})", feeds[i], feeds[j], outputs[i], outputs[j])
    for i, feed in enumerate(feeds):
        size = batch_size(feed, axis)
        if size >= 2:
            half = size // 2
            first = {n: np.take(a, range(half), axis=axis) for n, a in feed.items()}
            second = {n: np.take(a, range(half, size), axis=axis) for n, a in feed.items()}
            return Parts(
                f"sample {i} (batch {size}) split into {half} + {size - half}", first, second, merged_out=outputs[i]
            )
    rng = np.random.default_rng(seed)
    shuffled = {n: rng.permutation(a.ravel()).reshape(a.shape) for n, a in feeds[0].items()}
    return Parts(
        "sample 0 merged with a copy of it, values shuffled (no two samples have the same shapes)",
        feeds[0],
        shuffled,
        first_out=outputs[0],
        shuffled=True,
    )


def run_parts(parts: Parts, infer: Infer, axis: int) -> str:
    """Fill in the answers still missing; '' when the model answered, else the error it raised."""
    if parts.shuffled:
        try:
            parts.second_out = infer(parts.second)
        except Exception as exc:  # noqa: BLE001 - shuffled values may be no valid input: merge exact copies
            parts.description = f"sample 0 merged with itself (a shuffled copy failed: {_short(exc)})"
            parts.second, parts.second_out = parts.first, parts.first_out
    try:
        if parts.merged_out is None:
            parts.merged_out = infer(merge(parts.first, parts.second, axis))
        if parts.first_out is None:
            parts.first_out = infer(parts.first)
        if parts.second_out is None:
            parts.second_out = infer(parts.second)
    except Exception as exc:  # noqa: BLE001 - a model that takes no other batch is an answer, not a fault
        return _short(exc)
    return ""


def _short(exc: BaseException) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0][:200] if lines else ''}".rstrip(": ")


def verdict_of(parts: Parts, names: list[str], axis: int, tolerance: Tolerance, failure: str = "") -> Verdict:
    """Every output's verdict from the parts' answers (run_parts filled them in)."""
    if failure:
        reason = f"not probed: the model failed on {parts.description} ({failure})"
        outputs = {name: BatchProbe(reason=reason) for name in names}
        return Verdict(False, parts.description, outputs, f"the model failed on {parts.description}: {failure}")
    merged, first, second = parts.merged_out or {}, parts.first_out or {}, parts.second_out or {}
    if not (list(merged) == list(first) == list(second)):
        counts = f"{len(first)} outputs for the first part alone and {len(merged)} for both merged"
        reason = f"one entry of a list whose length follows the batch ({counts})"
        outputs = {
            name: BatchProbe(
                shapes={k: list(out[name].shape) if name in out else None for k, out in _labelled(parts)},
                reason=reason,
            )
            for name in names
        }
        return Verdict(
            False, parts.description, outputs, f"the model returns a list with one entry per sample ({counts})"
        )
    sizes = (batch_size(parts.first, axis), batch_size(parts.second, axis))
    outputs = {
        name: judge(merged[name], first[name], second[name], axis, *tolerance.of(name), sizes=sizes) for name in names
    }
    return Verdict(all(not p.reason for p in outputs.values()), parts.description, outputs, _reasons(outputs))


def _reasons(outputs: dict[str, BatchProbe]) -> str:
    """The outputs that are not per sample, grouped by reason: `outputs 'a', 'b': a scalar ...`."""
    groups: dict[str, list[str]] = {}
    for name, found in outputs.items():
        if found.reason:
            groups.setdefault(found.reason, []).append(name)
    lines = []
    for reason, names in groups.items():
        shown = ", ".join(f"'{n}'" for n in names[:NAMED]) + (
            f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
        )
        lines.append(f"output{'s' if len(names) > 1 else ''} {shown}: {reason}")
    return "; ".join(lines)


def _labelled(parts: Parts) -> list[tuple[str, Feed]]:
    return [("merged", parts.merged_out or {}), ("first", parts.first_out or {}), ("second", parts.second_out or {})]


def probe(feeds: list[Feed], outputs: list[Feed], axis: int, infer: Infer, tolerance: Tolerance, seed: int) -> Verdict:
    parts = choose_parts(feeds, outputs, axis, seed)
    failure = run_parts(parts, infer, axis)
    verdict = verdict_of(parts, list(outputs[0]), axis, tolerance, failure)
    return _every_sample(verdict, feeds, outputs, axis)


def _every_sample(verdict: Verdict, feeds: list[Feed], outputs: list[Feed], axis: int) -> Verdict:
    """The probe's pair may agree by chance (a detector with one detection per image there): every
    sample's per-sample output must hold that sample's batch size along the batch axis too."""
    for name, found in verdict.outputs.items():
        if found.reason:
            continue
        for i, (feed, out) in enumerate(zip(feeds, outputs, strict=True)):
            size, array = batch_size(feed, axis), out.get(name)
            if array is not None and (array.ndim <= axis or array.shape[axis] != size):
                held = array.shape[axis] if array.ndim > axis else "no"
                found.reason = (
                    f"its axis {axis} does not hold the batch on sample {i} (length {held} for batch {size}; "
                    "the probe's pair agreed by chance)"
                )
                break
    if verdict.batchable and any(p.reason for p in verdict.outputs.values()):
        verdict.batchable, verdict.reason = False, _reasons(verdict.outputs)
    return verdict


def prove(
    io: ModelIO,
    feeds: list[Feed],
    outputs: list[Feed],
    infer: Infer,
    tolerance: ProbeTolerance | None,
    seed: int,
    fixed: tuple[list[TensorMeta], list[TensorMeta]],
) -> ModelIO:
    """The samples step's probe: `io` (shaped as batched) with the verdicts; `fixed`: the inputs' and
    outputs' shapes as with batching off, which a model that is not batchable keeps."""
    verdict = probe(feeds, outputs, io.batch_axis, infer, Tolerance.from_options(tolerance), seed)
    return annotate(io, verdict, *fixed)


def annotate(io: ModelIO, verdict: Verdict, fixed_inputs: list[TensorMeta], fixed_outputs: list[TensorMeta]) -> ModelIO:
    """`io` with each output's verdict. A model that is not batchable keeps the samples' batch: its
    inputs (`fixed_inputs`: shaped as with batching off) are dynamic only where samples differ or the
    recipe says so, and where the input's batch axis is dynamic, so are the output axes that grew with it."""
    inputs, outputs = io.inputs, io.outputs
    if not verdict.batchable:
        inputs = fixed_inputs
        axis = io.batch_axis
        batch_varies = any(len(t.shape) > axis and t.shape[axis] == -1 for t in inputs)
        outputs = [_follow(meta, verdict.outputs[meta.name], batch_varies) for meta in fixed_outputs]
    outputs = [
        meta.model_copy(
            update={"per_sample": not verdict.outputs[meta.name].reason, "probe": verdict.outputs[meta.name]}
        )
        for meta in outputs
    ]
    return io.model_copy(
        update={
            "inputs": inputs,
            "outputs": outputs,
            "batching": verdict.batchable,
            "batchable": verdict.batchable,
            "batch_probe": verdict.probe,
            "batch_reason": verdict.reason,
        }
    )


def _follow(meta: TensorMeta, evidence: BatchProbe, batch_varies: bool) -> TensorMeta:
    merged, first = evidence.shapes.get("merged"), evidence.shapes.get("first")
    if not batch_varies or merged is None or first is None or not len(merged) == len(first) == len(meta.shape):
        return meta
    shape = [-1 if m != f else d for d, m, f in zip(meta.shape, merged, first, strict=True)]
    return meta.model_copy(update={"shape": shape})


def check_output_lists(feeds: list[Feed], outputs: list[Feed], axis: int) -> None:
    """One line for a model whose number of outputs follows the batch (a list per image) when the
    samples' batch sizes differ: no single signature can describe it."""
    base = list(outputs[0])
    for i, out in enumerate(outputs[1:], start=1):
        if list(out) == base or any(a.ndim <= axis for a in (*feeds[0].values(), *feeds[i].values())):
            continue
        first, other = batch_size(feeds[0], axis), batch_size(feeds[i], axis)
        if first != other:
            raise StepFailed(
                f"the model returns one entry per sample (a list whose length follows the batch): sample 0 "
                f"(batch {first}) gave {len(base)} outputs, sample {i} (batch {other}) gave {len(out)}; give every "
                "sample the same batch size (the model then keeps it: navctl never merges its samples)"
            )
