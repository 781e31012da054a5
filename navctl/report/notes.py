"""The warnings a reader of any report must see next to the figures: unreliable or unstable numbers,
speedups whose raw figures disagree, failures excused or rejected, checks that prove little."""

from __future__ import annotations

from navctl.plan.kinds import KINDS
from navctl.plan.registry import SOURCE, result_key
from navctl.profiling.rules import EARLY_STOP_MARK, ERROR_STOP_MARK, MEMORY_STOP_MARK
from navctl.report.shape_rows import shapes_note
from navctl.report.summary import result_rows
from navctl.status import EXCUSED_MARK, Status


def _remarks_on_success(step_kind: str) -> bool:
    """Kinds whose successful steps leave a remark worth showing: what a made file's exporter noted, and
    the samples step's (outputs left out, why the model is not batchable)."""
    entry = KINDS.get(step_kind)  # a status from another navctl may name a kind this one lacks
    return entry is not None and (entry.makes or entry.records_signature)


def run_notes(status: Status) -> list[str]:
    """Warnings a reader of any report must see next to the numbers."""
    notes = [shapes_note(status)] if shapes_note(status) else []
    if status.batching and status.batching.batchable is False and any(r.profile for r in status.results.values()):
        notes.append(
            "throughput of a model that is not batchable counts requests: one request is one sample as the "
            "dataloader made it (@batch 1), whatever its rows"
        )
    if status.profiling.unreliable:
        notes.append(f"numbers unreliable: the machine was busy ({status.profiling.unreliable})")
    rows = result_rows(status)
    unstable = [result_key(r.format, r.runner) for r in rows if r.stable is False]
    if unstable and not status.profiling.unreliable:
        notes.append(
            f"(unstable): {len(unstable)} runner(s) had a batch size whose windows never agreed within "
            "stability_pct; their figures carry that noise"
        )
    drifted = [result_key(r.format, r.runner) for r in rows if r.raw_speedup]
    if drifted:
        notes.append(
            f"speedup (raw ...): {', '.join(drifted)} and the source model were measured side by side, and the "
            "speedup is their ratio in the same rounds; the throughput figures shown come from different "
            "moments of a machine whose speed drifted, so their ratio (raw) disagrees: trust the speedup"
        )
    for key, result in status.results.items():  # its larger sizes were not measured: a reader must know
        if result.profile_stopped.startswith(EARLY_STOP_MARK):
            notes.append(f"{key}: sweep stopped early, {result.profile_stopped}")
        elif result.profile_stopped.startswith((ERROR_STOP_MARK, MEMORY_STOP_MARK)):  # its step still reads ok
            notes.append(f"{key}: profiling {result.profile_stopped}; its figures at the sizes before stand")
    for step_id, record in status.steps.items():
        excused = record.reason.find(f"({EXCUSED_MARK}")
        if record.state == "failed" and excused >= 0:
            notes.append(f"{step_id} failed {record.reason[excused:]}")
        if record.state == "rejected":  # an answer about the format, shown beside the figures
            notes.append(f"{step_id}: {record.reason}")
        # the samples step's remarks: outputs left out, and why the model is not batchable
        if record.state in ("ok", "cached") and _remarks_on_success(record.kind) and record.reason:
            if record.state == "cached" and record.reason == "fingerprint unchanged":
                continue
            notes.append(f"{step_id}: {record.reason}")
    notes += strength_notes(status)
    picked = {v for v in status.selection.values() if v}
    shaky = sorted(k for k in picked if any(not p.stable for p in status.results[k].profile))
    if shaky:
        notes.append(f"selection rests on unstable measurements for: {', '.join(shaky)}")
    notes += [f"close call for {strategy}: {why}" for strategy, why in status.selection_close.items()]
    notes += [
        f"slower than the source for {strategy}: {why}" for strategy, why in status.selection_behind_source.items()
    ]
    return notes


def strength_notes(status: Status) -> list[str]:
    """Checks that prove little: a warning shared by every checked format once, others with their keys;
    a verify function that also passed a perturbed copy of the reference."""
    checked = {k: r.correctness for k, r in status.results.items() if r.correctness and r.format != SOURCE}
    holders: dict[str, list[str]] = {}
    for key, correctness in sorted(checked.items()):
        for warning in correctness.warnings + ([correctness.padding] if correctness.padding else []):
            holders.setdefault(warning, []).append(key)
    notes = []
    for warning, keys in sorted(holders.items()):
        where = "" if len(keys) == len(checked) else f" ({', '.join(keys)})"
        notes.append(f"correctness{where}: {warning}")
    verified = {k: r.verify for k, r in status.results.items() if r.verify and r.verify.passed}
    weak = sorted(k for k, v in verified.items() if v.proves_little)
    if weak:
        which = "every format" if len(weak) == len(verified) else ", ".join(weak)
        notes.append(
            f"verify: {which} passed, and so did a copy of the reference perturbed by about its input-driven "
            "spread: the verify function cannot tell them apart, so its pass proves little"
        )
    return notes
