"""PyTorch exports: TorchScript (trace, script), torch.export (.pt2) and ONNX."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from navctl.contract.tensors import ModelIO, concat_batch, flatten_outputs, load_samples
from navctl.steps.child import StepContext
from navctl.steps.common import root_cause, runner_for
from navctl.steps.onnx_exporters import export_onnx_file
from navctl.steps.onnx_names import restore_names, unused_inputs
from navctl.steps.shape_ranges import axis_symbols, export_bounds


class FlatOutputs(torch.nn.Module):
    """The source model with positional inputs (in navctl's input order) and a flat tuple of outputs.

    Exported formats hold no Python structure then: an ExportedProgram of a Hugging Face model loads
    without transformers (its ModelOutput is not deserializable otherwise), tracing accepts nested
    dict outputs, and every runtime returns the outputs in navctl's order.
    """

    def __init__(self, model: Any, io: ModelIO) -> None:
        super().__init__()
        self.model = model
        self.names = io.input_names
        self.keyword = io.call == "keyword"
        # the wrapper follows the model (eval after loading): otherwise every ONNX export warns of training mode
        self.training = bool(getattr(model, "training", False))

    def forward(self, *args: torch.Tensor) -> tuple:
        out = self.model(**dict(zip(self.names, args, strict=True))) if self.keyword else self.model(*args)
        return tuple(_as_tensor(value) for _, value in flatten_outputs(out))


def _as_tensor(value: Any) -> torch.Tensor:
    """Exporters take tensors only: a Python number among the outputs becomes a 0-d tensor of the dtype
    the samples step recorded for it (numpy's: int64, float64, bool)."""
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))


def _model_and_example(ctx: StepContext) -> tuple[Any, ModelIO, tuple, dict]:
    """The source model plus example args/kwargs built from real samples.

    With batching on, the example batch holds at least 2 items: exporters specialise a size-1
    dimension to a constant, which would cost the exported model its dynamic batch axis.
    """
    io = ctx.io()
    runner = runner_for(ctx, f"torch-{ctx.spec.device}", io)
    runner.load()
    model = runner.model
    inputs, _ = load_samples(ctx.workspace, io)
    feed = inputs[0]
    if io.batching:
        size = feed[io.input_names[0]].shape[io.batch_axis]
        if size < 2:
            same_shape = [f for f in inputs if _same_rest(f, feed, io.batch_axis)]
            feed = concat_batch(same_shape, io.batch_axis, 2)
    device = torch.device("cuda" if ctx.spec.device == "cuda" else "cpu")
    tensors = {n: torch.from_numpy(np.asarray(feed[n], order="C")).to(device) for n in io.input_names}
    if io.call == "positional":
        return model, io, tuple(tensors[n] for n in io.input_names), {}
    return model, io, (), tensors


def _same_rest(a: dict[str, np.ndarray], b: dict[str, np.ndarray], axis: int) -> bool:
    return all(
        np.delete(np.array(a[n].shape), axis).tolist() == np.delete(np.array(b[n].shape), axis).tolist() for n in a
    )


def _prepare_dir(ctx: StepContext) -> str:
    path = ctx.path(ctx.spec.artifact)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def _flat_model_and_example(ctx: StepContext) -> tuple[FlatOutputs, ModelIO, tuple]:
    model, io, args, kwargs = _model_and_example(ctx)
    return FlatOutputs(model, io), io, args or tuple(kwargs[n] for n in io.input_names)


def _dynamic_shapes(io: ModelIO, named: bool = True, limits: dict[str, tuple] | None = None) -> Any:
    """torch.export's dynamic_shapes for FlatOutputs (its *args are one tuple, in navctl's input order):
    one Dim per symbol, shared by the axes that share it, bounded where the recipe declared a range
    (`limits`: bounds torch found in the model, over those). `named=False`: Dim.DYNAMIC everywhere, torch
    inferring which axes are equal."""
    bounds = export_bounds(io.inputs)
    for symbol, (low, high) in (limits or {}).items():  # torch's side where it gives one, the recipe's else
        declared = bounds.get(symbol, (None, None))
        bounds[symbol] = (low if low is not None else declared[0], high if high is not None else declared[1])
    dims: dict[str, Any] = {}
    for meta in io.inputs:
        for symbol in axis_symbols(meta).values():
            low, high = bounds.get(symbol, (None, None))
            dims.setdefault(symbol, torch.export.Dim(symbol, min=low, max=high))
    per_input = [
        {axis: dims[s] if named else torch.export.Dim.DYNAMIC for axis, s in axis_symbols(meta).items()} or None
        for meta in io.inputs
    ]
    return (tuple(per_input),)


# torch.export's suggested fix for an axis the model bounds: `input_ids_dim1 = Dim('input_ids_dim1', max=64)`
_BOUND_FIX = re.compile(r"^\s*(\w+) = Dim\('(\w+)'((?:, (?:min|max)=\d+)*)\)\s*$")


def _suggested_bounds(message: str, symbols: set[str]) -> dict[str, tuple[int | None, int | None]] | None:
    """The bounds torch suggests when every fix it suggests bounds one of navctl's symbols; else None (it
    ties axes together, or names symbols of its own)."""
    if "Suggested fixes:" not in message:
        return None
    found: dict[str, tuple[int | None, int | None]] = {}
    for line in message.split("Suggested fixes:", 1)[1].strip("\n").splitlines():
        if not line.strip():
            break  # the fixes end at the first blank line
        match = _BOUND_FIX.match(line)
        if match is None or match.group(1) != match.group(2) or match.group(1) not in symbols:
            return None
        given = dict(re.findall(r"(min|max)=(\d+)", match.group(3)))
        found[match.group(1)] = tuple(int(given[k]) if k in given else None for k in ("min", "max"))
    return found or None


def _bounds_text(limits: dict[str, tuple[int | None, int | None]]) -> str:
    def one(low: int | None, high: int | None) -> str:
        if low is not None and high is not None:
            return f"{low}..{high}"
        return f"at most {high}" if high is not None else f"at least {low}"

    return ", ".join(f"{symbol} {one(*bounds)}" for symbol, bounds in limits.items())


def _export_with_symbols(ctx: StepContext, export: Callable[[Any], Any], io: ModelIO) -> Any:
    """Export with navctl's shared symbols. When torch finds the model bounds an axis (BERT's positions
    end at max_position_embeddings), again with torch's bounds and a note naming them; when it ties axes
    the samples did not (two symbols that must be equal), with the symbols torch infers and a note."""
    try:
        return export(_dynamic_shapes(io))
    except Exception as exc:
        if "Constraints violated" not in root_cause(exc) and "Constraints violated" not in str(exc):
            raise
        symbols = {s for meta in io.inputs for s in axis_symbols(meta).values()}
        limits = _suggested_bounds(str(exc), symbols)
        if limits is not None:
            said = _bounds_text(limits)
            ctx.log(f"torch.export found the model bounds {said}: {exc}")
            try:
                program = export(_dynamic_shapes(io, limits=limits))
            except Exception as again:  # noqa: BLE001 - more than bounds: torch's own symbols decide
                ctx.log(f"with those bounds too: {again}")
            else:
                ctx.note = f"exported with the bounds torch.export found in the model: {said}"
                return program
        ctx.log(f"the shared symbols do not hold for this model: {exc}")
        ctx.note = f"exported with the symbols torch inferred: {root_cause(exc)}"
        return export(_dynamic_shapes(io, named=False))


def torchscript_trace(ctx: StepContext) -> dict[str, Any]:
    model, _, args = _flat_model_and_example(ctx)
    with torch.inference_mode(False), torch.no_grad():
        # no check_trace: the correctness step runs the saved trace on every sample against the source,
        # a stronger check than tracing once more on the example; check_trace's first call imports
        # torch.distributed.tensor and sympy (0.84 s of a 1.26 s step on the MLP, 0.03 s without)
        traced = torch.jit.trace(model, example_inputs=args, strict=False, check_trace=False)
    path = _prepare_dir(ctx)
    traced.save(path)
    ctx.add_artifact(ctx.spec.artifact)
    return {}


def torchscript_script(ctx: StepContext) -> dict[str, Any]:
    model, _, _, _ = _model_and_example(ctx)
    scripted = torch.jit.script(model)
    path = _prepare_dir(ctx)
    scripted.save(path)
    ctx.add_artifact(ctx.spec.artifact)
    return {}


def torch_export(ctx: StepContext) -> dict[str, Any]:
    model, io, args = _flat_model_and_example(ctx)
    program = _export_with_symbols(
        ctx, lambda shapes: torch.export.export(model, args, dynamic_shapes=shapes, strict=False), io
    )
    path = _prepare_dir(ctx)
    torch.export.save(program, path)
    ctx.add_artifact(ctx.spec.artifact)
    return {}


def aoti_package(ctx: StepContext) -> dict[str, Any]:
    """An AOTInductor package (.pt2) compiled from the ExportedProgram for the run's device."""
    program = torch.export.load(str(ctx.path(ctx.spec.source_artifact)))
    path = _prepare_dir(ctx)
    torch._inductor.aoti_compile_and_package(program, package_path=path)
    ctx.add_artifact(ctx.spec.artifact)
    return {"torch": torch.__version__}


def onnx(ctx: StepContext) -> dict[str, Any]:
    """ONNX with a dynamic batch axis, by the exporter policy of navctl.steps.onnx_exporters (`auto`:
    the TorchScript-based exporter unless its tracer warns, then dynamo; a named exporter alone, its
    warnings recorded)."""
    model, io, args = _flat_model_and_example(ctx)
    options = ctx.spec.options
    opset = options.setting("opset", 18)
    path = _prepare_dir(ctx)
    outcome = export_onnx_file(
        options.setting("exporter", "auto"),
        lambda name: _export_onnx(ctx, model, io, args, path, name, opset),
        cleanup=lambda: _remove_partial(path),
        log=ctx.log,
    )
    renamed = restore_names(path, io)
    notes = [outcome.note] if outcome.note else []
    if unused := unused_inputs(path):
        names = ", ".join(map(repr, unused))
        notes.append(f"the model reads no value of input(s) {names} (at most a shape); clients send it")
    ctx.note = "; ".join(notes)
    ctx.add_artifact(ctx.spec.artifact)
    if os.path.exists(path + ".data"):
        ctx.add_artifact(ctx.spec.artifact + ".data")
    return {
        "exporter": outcome.exporter,
        "opset": opset,
        "fallback_reasons": outcome.fallback_reasons,
        "warnings": outcome.warnings,
        "renamed_outputs": renamed,
    }


def _export_onnx(
    ctx: StepContext, model: FlatOutputs, io: ModelIO, args: tuple, path: str, exporter: str, opset: int
) -> None:
    common = dict(input_names=io.input_names, output_names=io.output_names, opset_version=opset)
    if exporter == "dynamo":
        _export_with_symbols(
            ctx,
            lambda shapes: torch.onnx.export(
                model, args, path, dynamo=True, dynamic_shapes=shapes, external_data=False, **common
            ),
            io,
        )
    else:
        # the dims' names in the graph: navctl's symbols, shared by the axes that are always equal
        axes = {t.name: axis_symbols(t) for t in io.inputs + io.outputs if axis_symbols(t)}
        torch.onnx.export(model, args, path, dynamo=False, dynamic_axes=axes, **common)


def _remove_partial(path: str) -> None:
    for leftover in (path, path + ".data"):
        if os.path.exists(leftover):
            os.remove(leftover)
