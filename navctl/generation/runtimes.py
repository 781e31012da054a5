"""A decode-step artifact (or the source model) loaded as the loop's `DecodeStep`, per runtime.

Runs inside step processes only. Names are the same in every format (past_key_values.N.key|value in,
present.N.key|value out), so one loop and one comparison serve them all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from navctl.generation.loop import CacheLayout, DecodeStep


def load_source(spec: Any, recipe_dir: Path) -> Any:
    """The recipe's model, built by its entrypoint, in eval mode."""
    from navctl.contract.loading import load_callable

    if not spec.model.entrypoint:
        raise ValueError("generation steps build the model from model.entrypoint; this recipe names none")
    model = load_callable(spec.model.entrypoint, recipe_dir)(**spec.model.kwargs)
    return model.eval() if hasattr(model, "eval") else model


def source_step(model: Any, layout: CacheLayout, device: str = "cpu") -> DecodeStep:
    from navctl.generation.torch_step import CacheStep, numpy_step

    return numpy_step(CacheStep(model, layout.layers), layout, device)


def _onnxruntime(path: Path, layout: CacheLayout, threads: int, device: str) -> DecodeStep:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    # idle threads that spin tax the runner measured next in the same process (generation/rounds.py)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    session = ort.InferenceSession(str(path), options, providers=providers)
    names = [o.name for o in session.get_outputs()]
    wanted = {i.name for i in session.get_inputs()}

    def step(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(None, {k: v for k, v in feed.items() if k in wanted}), strict=True))

    return step


def _openvino(path: Path, layout: CacheLayout, threads: int, device: str) -> DecodeStep:
    import openvino as ov

    core = ov.Core()
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32"}  # the bf16 default on some CPUs flips tokens
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = core.compile_model(core.read_model(str(path)), "GPU" if device == "cuda" else "CPU", config)
    # a port has several names after conversion; ours are the ones the ONNX model gave it
    ours = set(layout.input_names()) | set(layout.output_names()) | {"input_ids", "attention_mask", "position_ids"}
    inputs = {next(iter(p.get_names() & ours), p.get_any_name()): p for p in compiled.inputs}
    outputs = [(next(iter(p.get_names() & (ours | {"logits"})), p.get_any_name()), p) for p in compiled.outputs]
    request = compiled.create_infer_request()

    def step(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = request.infer({port: feed[name] for name, port in inputs.items()})
        return {name: np.array(result[port]) for name, port in outputs}

    return step


def _torchscript(path: Path, layout: CacheLayout, threads: int, device: str) -> DecodeStep:
    import torch

    from navctl.generation.torch_step import numpy_step

    module = torch.jit.load(str(path), map_location="cuda" if device == "cuda" else "cpu").eval()
    return numpy_step(module, layout, device)


def _exported(path: Path, layout: CacheLayout, threads: int, device: str) -> DecodeStep:
    import torch

    from navctl.generation.torch_step import numpy_step

    return numpy_step(torch.export.load(str(path)).module(), layout, device)


LOADERS: dict[str, Callable[[Path, CacheLayout, int, str], DecodeStep]] = {
    "onnxruntime": _onnxruntime,
    "openvino": _openvino,
    "torchscript": _torchscript,
    "torch-export": _exported,
}


def artifact_step(runtime: str, path: Path, layout: CacheLayout, threads: int, device: str) -> DecodeStep:
    if runtime not in LOADERS:
        raise ValueError(f"no decode-step loader for runtime {runtime!r}")
    return LOADERS[runtime](path, layout, threads, device)
