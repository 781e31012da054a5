"""ONNX Runtime runner on CPU or CUDA, with the run's thread budget and the recipe's session options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from navctl.plan import registry
from navctl.runners.base import Runner

_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


def session_options(threads: int, options: dict) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.get("intra_op_threads") or threads
    so.inter_op_num_threads = options.get("inter_op_threads") or 1
    so.graph_optimization_level = _LEVELS[options.get("graph_optimization_level", "all")]
    if options.get("execution_mode") == "parallel":
        so.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    so.log_severity_level = 3
    return so


class OnnxRuntimeRunner(Runner):
    @staticmethod
    def tuning_variants(threads: int) -> list[dict]:
        """Alternatives profiling.tune tries, each within the same thread budget."""
        variants: list[dict] = [{"graph_optimization_level": "extended"}]
        if threads > 1:
            variants.append({"execution_mode": "parallel", "inter_op_threads": threads, "intra_op_threads": 1})
        return variants

    def load_impl(self) -> None:
        path = self.config.artifact or self.config.model.path
        providers: list = ["CPUExecutionProvider"]
        if self.config.device == "cuda":
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if registry.runtime_def(self.name).accelerator == "TensorrtExecutionProvider":
            trt_options = {
                "trt_fp16_enable": self.config.options.get("trt_fp16", True),
                "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(Path(path).parent),
            }
            providers = [("TensorrtExecutionProvider", trt_options), *providers]
        self.session = ort.InferenceSession(
            str(path), sess_options=session_options(self.config.threads, self.config.options), providers=providers
        )
        if self.config.device == "cuda" and "CUDAExecutionProvider" not in self.session.get_providers():
            raise RuntimeError("ONNX Runtime could not use CUDA here (is onnxruntime-gpu installed?)")
        graph = [o.name for o in self.session.get_outputs()]
        io = self.config.io
        # Ask for outputs by name when the graph carries navctl's names (exporters may reorder them),
        # else by position under navctl's names.
        if io and sorted(graph) == sorted(io.output_names):
            self.fetch, self.output_names = io.output_names, io.output_names
        elif io and len(graph) == len(io.outputs):
            self.fetch, self.output_names = graph, io.output_names
        else:
            self.fetch, self.output_names = graph, graph

    def infer_impl(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self.session.run(self.fetch, feed)
        return dict(zip(self.output_names, outputs, strict=True))

    def describe_inputs(self) -> list[tuple[str, np.dtype, list[int | str | None]]]:
        """(name, numpy dtype, shape with symbolic dims) of the graph's inputs."""
        return [(i.name, _numpy_dtype(i.type), list(i.shape)) for i in self.session.get_inputs()]

    def close_impl(self) -> None:
        del self.session


def _numpy_dtype(onnx_type: str) -> np.dtype:
    """'tensor(float)' -> float32, as ONNX Runtime names its input types."""
    names = {
        "float": np.float32,
        "double": np.float64,
        "float16": np.float16,
        "int64": np.int64,
        "int32": np.int32,
        "int16": np.int16,
        "int8": np.int8,
        "uint8": np.uint8,
        "bool": np.bool_,
    }
    inner = onnx_type.removeprefix("tensor(").removesuffix(")")
    if inner not in names:
        raise TypeError(f"input type {onnx_type} is not supported for synthetic samples")
    return np.dtype(names[inner])
