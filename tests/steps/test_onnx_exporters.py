"""The ONNX exporter policy with PyTorch's real exporters on tiny models: `auto` refuses a trace its
tracer warned about and says why in full; a named exporter keeps its file and records its warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from navctl.steps.child import StepFailed  # noqa: E402
from navctl.steps.common import root_cause  # noqa: E402
from navctl.steps.onnx_exporters import export_onnx_file  # noqa: E402

TRACER_TEXT = (
    "TracerWarning: Converting a tensor to a Python number might cause the trace to be incorrect. We can't "
    "record the data flow of Python values, so this value will be treated as a constant in the future. This "
    "means that the trace might not generalize to other inputs! (test_onnx_exporters.py:"
)


class ValueBranch(torch.nn.Module):
    """Python control flow on a tensor's value, as Hugging Face and timm models have in places."""

    def forward(self, x):
        shift = int(x.sum().item() > 0)
        return x * 2 + shift


class ShapeBranch(torch.nn.Module):
    """Python control flow on a shape: the tracer warns, torch.export keeps it symbolic."""

    def forward(self, x):
        if x.shape[0] > 1:
            x = x * 2
        return x + 1


def _exporters(model: torch.nn.Module, path: Path):
    args = (torch.randn(2, 3),)

    def export(name: str) -> None:
        if name == "dynamo":
            batch = torch.export.Dim.DYNAMIC
            torch.onnx.export(model, args, str(path), dynamo=True, dynamic_shapes=({0: batch},), external_data=False)
        else:
            torch.onnx.export(model, args, str(path), dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "b"}})

    return export, lambda: path.unlink(missing_ok=True)


def test_a_named_torchscript_exporter_keeps_its_file_and_records_the_tracer_warning(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    export, cleanup = _exporters(ValueBranch().eval(), path)
    outcome = export_onnx_file("torchscript", export, cleanup, log=print)
    assert path.is_file() and outcome.exporter == "torchscript" and outcome.fallback_reasons == []
    assert len(outcome.warnings) == 1 and outcome.warnings[0].startswith(TRACER_TEXT)  # no deprecation notices
    assert outcome.note.startswith("made by the torchscript exporter the recipe chose, with 1 warning (the trace ")
    assert TRACER_TEXT in outcome.note


@pytest.mark.slow  # the dynamo exporter: a few seconds
def test_auto_refuses_the_warned_trace_and_names_the_tracer_warning_in_full(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    export, cleanup = _exporters(ShapeBranch().eval(), path)
    outcome = export_onnx_file("auto", export, cleanup, log=print)
    assert outcome.exporter == "dynamo" and path.is_file()
    assert outcome.note.startswith(
        "made by the dynamo exporter after the torchscript exporter: the tracer warned that the trace may not "
        "hold for other inputs: TracerWarning: Converting a tensor to a Python boolean"
    )
    assert "SystemError" not in outcome.note and outcome.note.endswith(")")  # whole, with where it was raised


@pytest.mark.slow
def test_auto_fails_when_no_exporter_makes_the_file_and_says_how_to_keep_the_trace(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    export, cleanup = _exporters(ValueBranch().eval(), path)
    with pytest.raises(StepFailed) as failure:
        export_onnx_file("auto", export, cleanup, log=print)
    message = str(failure.value)
    # short enough for a step's reason (300 characters): the first sentence, where, and the way out
    assert message.startswith(
        "ONNX export failed; torchscript exporter: trace refused, the tracer warned: TracerWarning: Converting a "
        "tensor to a Python number might cause the trace to be incorrect (test_onnx_exporters.py:"
    )
    assert "(onnx: {exporter: torchscript} keeps it, records the warnings, and correctness decides); " in message
    assert message.index("; dynamo exporter: ") < 300 and "SystemError" not in message
    assert not path.exists()


def test_root_cause_skips_the_c_wrapper_and_keeps_the_message_whole() -> None:
    long = "Converting a tensor to a Python number might cause the trace to be incorrect. " * 5
    try:
        try:
            raise RuntimeError(long.strip())
        except RuntimeError as inner:
            raise SystemError(
                "<method 'item' of 'torch._C.TensorBase' objects> returned a result with an exception set"
            ) from inner
    except SystemError as exc:
        text = root_cause(exc)
    assert text == f"RuntimeError: {long.strip()}"


def test_a_brief_root_cause_cuts_the_wrapper_to_its_first_sentence_and_keeps_the_cause() -> None:
    cause = "No ONNX function found for <OpOverload(op='aten.linalg_inv_ex', overload='default')>. Failure message: x"
    wrapper = (
        "Failed to convert the exported program to an ONNX model. This is step 3/3 of exporting the model to "
        "ONNX. Next steps: - If there is a missing ONNX function, implement it and register it"
    )
    try:
        try:
            raise LookupError(cause)
        except LookupError as inner:
            raise ValueError(wrapper) from inner
    except ValueError as exc:
        brief, whole = root_cause(exc, brief=True), root_cause(exc)
    first = "Failed to convert the exported program to an ONNX model."
    assert brief == f"ValueError: {first} (cause: LookupError: {cause})"
    assert whole == f"ValueError: {wrapper} (cause: LookupError: {cause})"
