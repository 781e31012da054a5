"""Which ONNX exporter makes a PyTorch model's file, and what its warnings mean.

`auto` tries the TorchScript-based exporter first (a trace: tens of milliseconds where dynamo takes
seconds; benchmarks/onnx_exporters.py) and refuses its file when the tracer warned that the trace may
not hold for other inputs (Python control flow on values or shapes), then the dynamo exporter. An
exporter the recipe names runs alone and its warnings are recorded, not raised: the user chose it, and
the correctness checks decide whether the file holds (torchvision's detection models trace with
warnings and have no other way to ONNX).

Warnings are collected, not turned into errors: a warning raised as an error inside a C function
surfaces as `SystemError: <method 'item' ...> returned a result with an exception set`, which names
the wrapper, not the cause. Every warning still goes to the step's log.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from navctl.steps.child import StepFailed
from navctl.steps.common import root_cause

TRACER_WARNING = "TracerWarning"
# about library APIs (the legacy exporter's deprecation), not about the exported model
_API_NOTICES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def exporter_order(choice: str) -> list[str]:
    return ["torchscript", "dynamo"] if choice == "auto" else [choice]


class TraceRefused(Exception):
    """`auto` does not keep a trace its tracer warned about."""

    def __init__(self, tracer_warnings: list[str]) -> None:
        more = len(tracer_warnings) - 1
        super().__init__(
            "the tracer warned that the trace may not hold for other inputs: "
            + tracer_warnings[0]
            + (f" (and {more} more tracer warning{'s' if more > 1 else ''} in the log)" if more else "")
        )
        # for a failed step's reason, which is kept short: the warning's first sentence and where it was raised
        text, _, where = tracer_warnings[0].rpartition(" (")
        self.brief = f"trace refused, the tracer warned: {text.split('. ', 1)[0]} ({where}"


@dataclass
class ExportOutcome:
    exporter: str
    warnings: list[str] = field(default_factory=list)  # distinct, API notices left out
    fallback_reasons: list[str] = field(default_factory=list)  # why earlier exporters gave no file
    note: str = ""


def describe(message: warnings.WarningMessage) -> str:
    """`Category: message (file:line)`, the message in full; library paths from their package folder."""
    where, packages = message.filename, f"site-packages{os.sep}"
    where = where.split(packages, 1)[1] if packages in where else os.path.basename(where)
    return f"{message.category.__name__}: {message.message} ({where}:{message.lineno})"


def run_recording(export: Callable[[], None]) -> list[str]:
    """Run `export`, collecting its warnings (each also written to the log, as Python would print it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            export()
        finally:
            for message in caught:
                sys.stderr.write(
                    warnings.formatwarning(
                        message.message, message.category, message.filename, message.lineno, message.line
                    )
                )
    kept = [describe(m) for m in caught if not issubclass(m.category, _API_NOTICES)]
    return list(dict.fromkeys(kept))


def export_onnx_file(
    choice: str, export: Callable[[str], None], cleanup: Callable[[], None], log: Callable[[str], None]
) -> ExportOutcome:
    """Run the exporters `choice` names in order until one makes the file (`export(name)` writes it,
    `cleanup()` removes what a failed one left); StepFailed with every exporter's reason when none did."""
    reasons: list[str] = []
    briefs: list[str] = []  # the same, short enough for a failed step's reason (the log has them in full)
    for name in exporter_order(choice):
        try:
            recorded = run_recording(lambda name=name: export(name))
            tracer = [w for w in recorded if w.startswith(TRACER_WARNING)]
            if choice == "auto" and name == "torchscript" and tracer:
                raise TraceRefused(tracer)
        except Exception as exc:
            reason = f"{name} exporter: {exc if isinstance(exc, TraceRefused) else root_cause(exc)}"
            log(f"ONNX export failed with the {reason}")
            if not isinstance(exc, TraceRefused):
                traceback.print_exception(exc)  # the whole story stays in the log
            reasons.append(reason)
            briefs.append(
                f"{name} exporter: {exc.brief}{_KEEP_HINT}"
                if isinstance(exc, TraceRefused)
                else f"{name} exporter: {root_cause(exc, brief=True)}"
            )
            cleanup()
            continue
        return ExportOutcome(name, recorded, reasons, _note(name, choice, recorded, reasons))
    raise StepFailed("ONNX export failed; " + "; ".join(briefs))


_KEEP_HINT = " (onnx: {exporter: torchscript} keeps it, records the warnings, and correctness decides)"


def _note(name: str, choice: str, recorded: list[str], reasons: list[str]) -> str:
    if reasons:
        return f"made by the {name} exporter after the " + "; ".join(reasons)
    if choice == "auto" or not recorded:
        return ""
    tracer = [w for w in recorded if w.startswith(TRACER_WARNING)]
    first = (tracer or recorded)[0]
    what = "the trace may not hold for other inputs, correctness decides" if tracer else "recorded in status.yaml"
    count = f"{len(recorded)} warning{'s' if len(recorded) > 1 else ''}"
    return f"made by the {name} exporter the recipe chose, with {count} ({what}): {first}"
