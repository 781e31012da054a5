"""Every runtime and framework navctl knows, and the packages behind them, as plain data.

A runtime runs formats; `<runtime>-<device>` names a runner (see `navctl.plan.keys`). A framework is what
a recipe's model is written in: its facts say which model fields it takes and which runtime runs its
source model.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class RuntimeDef:
    """A runtime runs formats; `<runtime>-<device>` names a runner."""

    name: str
    devices: tuple[str, ...]
    runner: str  # "module:Class"
    packages: tuple[str, ...] = ()
    cuda_distributions: tuple[str, ...] = ()  # pip distributions needed on CUDA only
    implemented: bool = True
    options: str | None = None  # the recipe section with its runner options (e.g. "onnxruntime")
    extra: str = ""  # the pip extra that installs it: pip install 'navctl[<extra>]'
    preload: tuple[str, ...] = ()  # modules the warm worker imports when the plan runs it
    # slow imports only some steps need: the warm worker's annex imports them while other steps run,
    # and the steps of this runtime wait for it (navctl.engine.worker)
    preload_later: tuple[str, ...] = ()
    # the option of its section that lowers precision at run time, and the values meaning full precision
    precision_option: str | None = None
    full_precision: tuple[str, ...] = ("fp32", "f32", "none")
    # its artifacts can name operators a Python library registers at import (torch.library, TensorFlow's
    # load_op_library): its runner processes import the libraries the user's files import first
    user_ops: bool = False
    # the ONNX Runtime execution provider its runner puts before CUDA's (None: CUDA's, or not ONNX Runtime)
    accelerator: str | None = None


@dataclass(frozen=True)
class FrameworkDef:
    """What a recipe's `framework:` means for the rest of the recipe and for the source model."""

    name: str
    source_runtimes: tuple[str, ...]  # the first runs the reference; the others are candidates too
    source_packages: tuple[str, ...]  # import names the source model needs
    model_file: str | None = None  # what model.path may name; None: the model is built by code only
    entrypoint: bool = True  # model.entrypoint (code that builds the model) is how it is given
    needs_dataloader: bool = True  # False: samples can be made from the model file's signature


FRAMEWORK_DEFS: dict[str, FrameworkDef] = {
    f.name: f
    for f in [
        FrameworkDef("torch", ("torch", "torch-compile"), ("torch",)),
        FrameworkDef("tensorflow", ("tf",), ("tensorflow",), model_file="a SavedModel folder"),
        FrameworkDef("jax", ("jax",), ("jax",)),
        FrameworkDef(
            "onnx",
            ("onnxruntime",),
            ("onnx", "onnxruntime"),
            model_file="an .onnx file",
            entrypoint=False,
            needs_dataloader=False,
        ),
    ]
}
FRAMEWORKS = tuple(FRAMEWORK_DEFS)
# The source model runs on its framework's own runtime; it is the reference and the baseline.
SOURCE_RUNTIMES: dict[str, tuple[str, ...]] = {f.name: f.source_runtimes for f in FRAMEWORK_DEFS.values()}
SOURCE_PACKAGES: dict[str, tuple[str, ...]] = {f.name: f.source_packages for f in FRAMEWORK_DEFS.values()}

# Pip distributions whose versions enter step fingerprints and status.yaml, and whose change between two
# runs `navctl diff` warns of: each can change what an exporter writes or how fast a runtime runs it.
TRACKED_DISTRIBUTIONS = (
    "torch",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "jaxlib",
    "onnx",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxscript",
    "polygraphy",
    "tensorrt",
    "torch-tensorrt",
    "openvino",
    "tf2onnx",
    "jax2onnx",
    "numpy",
)

# Import name -> the pip extra that installs it (for "pip install 'navctl[x]'" hints).
PACKAGE_EXTRAS: dict[str, str] = {
    "torch": "torch",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "polygraphy": "onnx",
    "tensorflow": "tensorflow",
    "tf2onnx": "tensorflow",
    "jax": "jax",
    "jax2onnx": "jax",
    "openvino": "openvino",
    "nncf": "openvino",
    "onnxconverter_common": "onnx",
    "ray": "ray",
    "tensorrt": "gpu",
    "torch_tensorrt": "gpu",
    "onnxruntime-gpu": "gpu",
    "tritonclient": "triton",
    "pytriton": "triton",
    "matplotlib": "report",
}

_TORCH: dict = {
    "options": "torch",
    "extra": "torch",
    "preload": ("torch",),
    "precision_option": "autocast",
    "user_ops": True,
}
# torch's export machinery (sympy, dynamo) costs 1.5-2 s per step that loads or makes an ExportedProgram:
# worth importing once, but only for plans that hold one (the TorchScript-based ONNX exporter, tried
# first, does not need it), and while the samples step and the other exports already run. Exporting,
# and loading a saved program (its symbolic shapes look for the user's frame), import torch.export._trace
# too: torch._inductor's caches and networkx, 0.3 s of a 0.44 s correctness step on a 64-256-256-10 MLP,
# paid again by the export and by the profile session's runner.
_TORCH_EXPORT: dict = {**_TORCH, "preload_later": ("torch._export.serde.serialize", "torch.export._trace")}
_ORT: dict = {"options": "onnxruntime", "extra": "onnx", "preload": ("onnxruntime",)}
_TF: dict = {"extra": "tensorflow", "preload": ("tensorflow",), "user_ops": True}

RUNTIMES: dict[str, RuntimeDef] = {
    r.name: r
    for r in [
        RuntimeDef("torch", DEVICES, "navctl.runners.torch_runners:TorchEagerRunner", ("torch",), **_TORCH),
        RuntimeDef(
            "torch-compile",
            ("cuda",),
            "navctl.runners.torch_runners:TorchCompileRunner",
            ("torch",),
            **_TORCH,
        ),
        RuntimeDef("torchscript", DEVICES, "navctl.runners.torch_runners:TorchScriptRunner", ("torch",), **_TORCH),
        RuntimeDef(
            "torch-export", DEVICES, "navctl.runners.torch_runners:TorchExportRunner", ("torch",), **_TORCH_EXPORT
        ),
        RuntimeDef("torch-aoti", ("cuda",), "navctl.runners.torch_runners:AotiRunner", ("torch",), **_TORCH_EXPORT),
        RuntimeDef(
            "torch-tensorrt",
            ("cuda",),
            "navctl.runners.torch_runners:TorchTensorRTRunner",
            ("torch", "torch_tensorrt"),
            implemented=False,
            options="torch",
            extra="gpu",
        ),
        RuntimeDef(
            "onnxruntime",
            DEVICES,
            "navctl.runners.onnxruntime:OnnxRuntimeRunner",
            ("onnxruntime",),
            cuda_distributions=("onnxruntime-gpu",),
            **_ORT,
        ),
        RuntimeDef(
            "onnxruntime-tensorrt",
            ("cuda",),
            "navctl.runners.onnxruntime:OnnxRuntimeRunner",
            ("onnxruntime", "tensorrt"),
            cuda_distributions=("onnxruntime-gpu",),
            accelerator="TensorrtExecutionProvider",
            **{**_ORT, "extra": "gpu"},
        ),
        RuntimeDef(
            "tensorrt",
            ("cuda",),
            "navctl.runners.tensorrt:TensorRTRunner",
            ("tensorrt", "polygraphy"),
            extra="gpu",
        ),
        RuntimeDef(
            "openvino",
            ("cpu",),
            "navctl.runners.openvino:OpenVinoRunner",
            ("openvino",),
            options="openvino",
            extra="openvino",
            precision_option="precision",
        ),
        RuntimeDef("tf", DEVICES, "navctl.runners.tf:TfEagerRunner", ("tensorflow",), **_TF),
        RuntimeDef("tf-savedmodel", DEVICES, "navctl.runners.tf:SavedModelRunner", ("tensorflow",), **_TF),
        RuntimeDef("jax", DEVICES, "navctl.runners.jax:JaxRunner", ("jax",), extra="jax", preload=("jax",)),
    ]
}
