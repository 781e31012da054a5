"""`navctl triton`: a Triton model repository entry for one format of a package.

The config is built as tritonclient's `ModelConfig` message and written in protobuf text format, so
every field name and enum is checked by protobuf itself rather than by string formatting.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from navctl.contract.step import MODEL_IO_FILE
from navctl.contract.tensors import ModelIO
from navctl.errors import EnvironmentProblem, UsageError
from navctl.nav import NavPackage
from navctl.plan import registry
from navctl.plan.environment import module_available
from navctl.triton.layout import serving_layout
from navctl.triton.merging import Serving, check_preferred

_DTYPES = {
    "bool": "TYPE_BOOL",
    "uint8": "TYPE_UINT8",
    "uint16": "TYPE_UINT16",
    "uint32": "TYPE_UINT32",
    "uint64": "TYPE_UINT64",
    "int8": "TYPE_INT8",
    "int16": "TYPE_INT16",
    "int32": "TYPE_INT32",
    "int64": "TYPE_INT64",
    "float16": "TYPE_FP16",
    "float32": "TYPE_FP32",
    "float64": "TYPE_FP64",
    "bfloat16": "TYPE_BF16",
}
# A model name is a folder of the repository: starting with a letter or digit, so never '.' or '..' (the
# folder written over would be the repository itself, or its parent).
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
PYTHON_MODEL = "model.py"


@dataclass
class TritonOptions(Serving):
    kind: Literal["auto", "cpu", "gpu"] = "auto"
    accelerator: Literal["none", "tensorrt", "openvino"] = "none"


@dataclass
class Backend:
    platform: str = ""
    backend: str = ""
    files: dict[str, str] = field(default_factory=dict)  # package path -> name in the version folder
    io_suffix: bool = False  # libtorch: names end in __<index>


# Triton backends navctl deploys to natively: (platform, file names in the version folder by the
# artifact's suffix, tensor names with `__<index>`). Formats name theirs in the registry (`triton`).
_BACKENDS: dict[str, tuple[str, dict[str, str], bool]] = {
    "onnxruntime": ("onnxruntime_onnx", {".onnx": "model.onnx"}, False),
    "tensorrt": ("tensorrt_plan", {".plan": "model.plan"}, False),
    "tensorflow": ("tensorflow_savedmodel", {".savedmodel": "model.savedmodel"}, False),
    "openvino": ("", {".xml": "model.xml", ".bin": "model.bin"}, False),
    "pytorch": ("pytorch_libtorch", {".pt": "model.pt"}, True),
}
KNOWN_BACKENDS = (*_BACKENDS, "python")


def _backend(fmt: str, io: ModelIO) -> Backend:
    spec = registry.FORMATS.get(fmt)
    artifact = spec.artifact if spec else ""
    native = spec.triton if spec else None
    if native == "pytorch" and spec.triton_positional_only:
        # LibTorch passes inputs by position and returns tensors or tuples: a scripted model with
        # keyword inputs or dict outputs goes to the Python backend instead.
        positional = io.call == "positional" and all(re.fullmatch(r"output_\d+", o.name) for o in io.outputs)
        native = native if positional else None
    if native is None:
        return Backend(backend="python", files={artifact: Path(artifact).name})
    platform, names, io_suffix = _BACKENDS[native]
    stem = artifact[: -len(Path(artifact).suffix)] if Path(artifact).suffix else artifact
    files = {stem + suffix: name for suffix, name in names.items()}
    return Backend(platform=platform, backend=native, files=files, io_suffix=io_suffix)


def triton_names(io: ModelIO, backend: Backend) -> tuple[list[str], list[str]]:
    """The tensor names clients use: navctl's own, or `<name>__<index>` for LibTorch."""
    if backend.io_suffix:
        return (
            [f"{t.name}__{i}" for i, t in enumerate(io.inputs)],
            [f"{t.name}__{i}" for i, t in enumerate(io.outputs)],
        )
    return io.input_names, io.output_names


def build_config(package: NavPackage, key: str, options: TritonOptions, name: str):
    from tritonclient.grpc import model_config_pb2 as mc

    fmt, runner = registry.split_key(key)
    io = package.io
    backend = _backend(fmt, io)
    config = mc.ModelConfig(name=name)
    if backend.platform:
        config.platform = backend.platform
    config.backend = backend.backend
    profiled = [r.batch_size for r in package.status.results.get(key, _empty()).profile]
    merge = options.merges(io, "navctl triton")
    batching = options.batching
    layout = serving_layout(io, profiled, batching.max_batch_size, key)
    max_batch = layout.max_batch
    config.max_batch_size = max_batch
    in_names, out_names = triton_names(io, backend)
    for tensors, names, target in ((io.inputs, in_names, config.input), (io.outputs, out_names, config.output)):
        for meta, triton_name in zip(tensors, names, strict=True):
            if meta.dtype not in _DTYPES:
                raise UsageError(f"tensor '{meta.name}' has dtype {meta.dtype}, which Triton configs cannot express")
            tensor = target.add(name=triton_name, data_type=mc.DataType.Value(_DTYPES[meta.dtype]))
            tensor.dims.extend(layout.dims(meta.name))
            if meta.name in layout.scalar:
                # the [1] a value per sample is declared with is reshaped to [], so clients and the model
                # see the tensor's true shape
                tensor.reshape.SetInParent()
    if merge:
        check_preferred(batching.preferred_batch_sizes, max_batch)
    if max_batch and merge:
        preferred = batching.preferred_batch_sizes or [b for b in profiled if 1 < b <= max_batch][-2:]
        config.dynamic_batching.preferred_batch_size.extend(preferred)
        config.dynamic_batching.max_queue_delay_microseconds = batching.max_queue_delay_us
    kind = options.kind if options.kind != "auto" else ("gpu" if registry.device_of(runner) == "cuda" else "cpu")
    config.instance_group.add(count=batching.instances, kind=mc.ModelInstanceGroup.Kind.Value(f"KIND_{kind.upper()}"))
    if options.accelerator != "none":
        if backend.platform != "onnxruntime_onnx":
            raise UsageError(f"--accelerator {options.accelerator} applies to ONNX formats, not {fmt}")
        accelerators = config.optimization.execution_accelerators
        if options.accelerator == "tensorrt":
            accelerators.gpu_execution_accelerator.add(name="tensorrt")
        else:
            accelerators.cpu_execution_accelerator.add(name="openvino")
    if backend.backend == "python":
        config.parameters["navctl_key"].string_value = key
    return config, backend


def _empty():
    from navctl.records.results import RunnerResult

    return RunnerResult(format="", runner="")


def write_repository(package: NavPackage, repo: Path, options: TritonOptions) -> Path:
    """Write `<repo>/<name>/config.pbtxt` and `<repo>/<name>/1/<model files>`; returns the model folder."""
    if not (module_available("tritonclient") and module_available("google.protobuf")):
        raise EnvironmentProblem(
            "navctl triton builds configs with tritonclient's protobuf messages, which are not installed",
            hint="pip install 'navctl[triton]'",
        )
    from google.protobuf import text_format

    key = options.key or package.best(options.strategy)
    if registry.format_of(key) == registry.SOURCE:
        raise UsageError("the source model is code, not a file in the package; pick an exported format")
    if key not in package.status.results:
        raise UsageError(f"{package.path} has no results for {key}; it has: {', '.join(package.status.results)}")
    name = options.name or package.status.recipe.name
    if not MODEL_NAME_RE.match(name):
        raise UsageError(f"'{name}' is not a valid Triton model name (a letter or digit, then those, '_', '.', '-')")
    config, backend = build_config(package, key, options, name)
    model_dir = repo / name
    version_dir = model_dir / "1"
    if model_dir.exists():
        shutil.rmtree(model_dir)
    version_dir.mkdir(parents=True)
    for source, target in backend.files.items():
        path = package.root / source
        if not path.exists():
            raise UsageError(f"{package.path} holds no {source}")
        if path.is_dir():
            shutil.copytree(path, version_dir / target)
        else:
            shutil.copy2(path, version_dir / target)
        if source.endswith(".onnx") and (package.root / (source + ".data")).exists():
            shutil.copy2(package.root / (source + ".data"), version_dir / (target + ".data"))
    if backend.backend == "python":
        shutil.copy2(package.root / MODEL_IO_FILE, version_dir / MODEL_IO_FILE)
        (version_dir / "runner.json").write_text(
            json.dumps(
                {
                    "key": key,
                    "artifact": list(backend.files.values())[0],
                    "options": package.runner_options(key),
                    "threads": package.status.environment.threads,
                    "libraries": package.libraries(key),
                },
                indent=2,
            )
        )
        (version_dir / PYTHON_MODEL).write_text(python_model_source())
    (model_dir / "config.pbtxt").write_text(text_format.MessageToString(config))
    return model_dir


def python_model_source() -> str:
    """model.py for Triton's Python backend: a navctl runner behind Triton's execute() interface."""
    return '''"""Generated by navctl: serves one navctl format through Triton's Python backend.
Needs navctl (and the format's runtime) installed in the Python backend's environment."""

import json
import sys
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

from navctl.contract.libraries import import_libraries
from navctl.runners import RunnerConfig, create_runner
from navctl.contract.step import ModelRef
from navctl.contract.tensors import ModelIO
from navctl.plan.keys import runner_name, runtime_of, split_key

HERE = Path(__file__).resolve().parent


class TritonPythonModel:
    def initialize(self, args):
        spec = json.loads((HERE / "runner.json").read_text())
        self.io = ModelIO.read(HERE / "model_io.json")
        device = "cuda" if args.get("model_instance_kind") == "GPU" else "cpu"
        # the libraries the user's files import, before the artifact that may name operators they register
        import_libraries(spec.get("libraries", []), lambda line: print(line, file=sys.stderr))
        fmt, runner = split_key(spec["key"])
        config = RunnerConfig(artifact=HERE / spec["artifact"], io=self.io, device=device,
                              threads=spec["threads"], model=ModelRef(), recipe_dir=HERE, options=spec["options"],
                              format=fmt)
        self.runner = create_runner(runner_name(runtime_of(runner), device), config)
        self.runner.load()

    def execute(self, requests):
        responses = []
        for request in requests:
            feed = {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy() for name in self.io.input_names}
            outputs = self.runner.infer(feed)
            responses.append(pb_utils.InferenceResponse(
                [pb_utils.Tensor(name, np.ascontiguousarray(outputs[name])) for name in self.io.output_names]))
        return responses

    def finalize(self):
        self.runner.close()
'''
