"""Generation steps that make decode-step artifacts: one merged model per format (the prefill runs it
with an empty cache), taking `past_key_values.N.key|value` and returning `logits`, `present.N.key|value`,
batch, sequence and cache length dynamic (navctl/generation/plan_ext.py lists them)."""

from __future__ import annotations

import warnings
from typing import Any

from navctl.generation.loop import CacheLayout
from navctl.steps.child import StepContext, StepFailed
from navctl.steps.common import root_cause

INPUTS = ("input_ids", "attention_mask", "position_ids")


def layout_of(ctx: StepContext) -> CacheLayout:
    decoder = ctx.io().decoder
    if decoder is None:
        raise StepFailed("model_io.json records no decoder: the samples step found no cache in the outputs")
    return CacheLayout(decoder.layers, decoder.heads, decoder.head_dim, decoder.dtype)


def _wrapper(ctx: StepContext, layout: CacheLayout):
    from navctl.generation.runtimes import load_source
    from navctl.generation.torch_step import CacheStep

    return CacheStep(load_source(ctx.spec, ctx.recipe_dir), layout.layers).eval()


def dynamic_axes(layout: CacheLayout) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "total_length"},
        "position_ids": {0: "batch", 1: "sequence"},
        "logits": {0: "batch", 1: "sequence"},
    }
    axes.update({name: {0: "batch", 2: "past_length"} for name in layout.input_names()})
    axes.update({name: {0: "batch", 2: "total_length"} for name in layout.output_names()})
    return axes


def export_onnx(ctx: StepContext) -> dict[str, Any]:
    import torch

    from navctl.generation.torch_step import example_args

    layout = layout_of(ctx)
    target = ctx.spec.options.decode_artifact
    ctx.path(target).parent.mkdir(parents=True, exist_ok=True)
    # The TorchScript-based exporter: dynamo's tracing of transformers' mask code is slower here and
    # needs the cache registered as a pytree; this one takes the cache as plain tensors.
    with warnings.catch_warnings(record=True) as caught, torch.no_grad():
        warnings.simplefilter("always")
        try:
            torch.onnx.export(
                _wrapper(ctx, layout),
                example_args(layout),
                str(ctx.path(target)),
                input_names=[*INPUTS, *layout.input_names()],
                output_names=["logits", *layout.output_names()],
                dynamic_axes=dynamic_axes(layout),
                opset_version=17,
                dynamo=False,
            )
        except Exception as exc:
            raise StepFailed(f"the decode step did not export to ONNX: {root_cause(exc)}") from exc
    ctx.add_artifact(target)
    ctx.note = "decode step: past_key_values.N.key|value in, present.N.key|value out"
    return {"exporter": "torchscript", "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught})[:5]}


def convert_openvino(ctx: StepContext) -> dict[str, Any]:
    import openvino as ov

    target = ctx.spec.options.decode_artifact
    model = ov.convert_model(str(ctx.path(ctx.spec.options.parent_artifact)))
    ctx.path(target).parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(ctx.path(target)), compress_to_fp16=False)  # fp32 weights: the check compares logits
    ctx.add_artifact(target)
    ctx.add_artifact(target.removesuffix(".xml") + ".bin")
    return {"exporter": "openvino.convert_model"}


def trace_torchscript(ctx: StepContext) -> dict[str, Any]:
    import torch

    from navctl.generation.torch_step import example_args

    layout = layout_of(ctx)
    target = ctx.spec.options.decode_artifact
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shapes: the check step proves the trace
        try:
            traced = torch.jit.trace(_wrapper(ctx, layout), example_args(layout), check_trace=False)
        except Exception as exc:
            raise StepFailed(f"the decode step did not trace: {root_cause(exc)}") from exc
    ctx.path(target).parent.mkdir(parents=True, exist_ok=True)
    traced.save(str(ctx.path(target)))
    ctx.add_artifact(target)
    return {"exporter": "torch.jit.trace"}


def export_program(ctx: StepContext) -> dict[str, Any]:
    import torch

    from navctl.generation.torch_step import example_args

    layout = layout_of(ctx)
    target = ctx.spec.options.decode_artifact
    auto = torch.export.Dim.AUTO  # named Dims over-constrain the mask length (total >= past); AUTO does not
    shapes = ({0: auto, 1: auto},) * 3 + (tuple({0: auto, 2: auto} for _ in layout.input_names()),)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            program = torch.export.export(
                _wrapper(ctx, layout), example_args(layout), dynamic_shapes=shapes, strict=False
            )
        except Exception as exc:
            raise StepFailed(f"the decode step did not export (torch.export): {root_cause(exc)}") from exc
    ctx.path(target).parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(ctx.path(target)))
    ctx.add_artifact(target)
    return {"exporter": "torch.export (non-strict)"}


def quantize_onnx_dynamic(ctx: StepContext) -> dict[str, Any]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = ctx.spec.options.decode_artifact
    ctx.path(target).parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(
        str(ctx.path(ctx.spec.options.parent_artifact)), str(ctx.path(target)), weight_type=QuantType.QInt8
    )
    ctx.add_artifact(target)
    return {"exporter": "onnxruntime.quantization.quantize_dynamic (int8 weights)"}


def convert_onnx_fp16(ctx: StepContext) -> dict[str, Any]:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    target = ctx.spec.options.decode_artifact
    model = onnx.load(str(ctx.path(ctx.spec.options.parent_artifact)))
    # ONNX Runtime's converter: onnxconverter-common's breaks the Cast nodes transformers' norms add
    # (a float16 output where float32 was typed); float32 in and out (the cache too), as the others
    converted = convert_float_to_float16(model, keep_io_types=True)
    ctx.path(target).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(converted, str(ctx.path(target)))
    ctx.add_artifact(target)
    return {"exporter": "onnxruntime.transformers.float16 (keep_io_types)"}
