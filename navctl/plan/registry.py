"""Every format and runtime navctl knows, as plain data. Plan expansion walks these tables.

Adding a format = one `FormatDef` (how each framework makes it, where its artifact lives, which
runtimes run it) + one step function; usually one runner class too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FRAMEWORKS = ("torch", "tensorflow", "jax", "onnx")
DEVICES = ("cpu", "cuda")
SOURCE = "source"


@dataclass(frozen=True)
class Maker:
    """How one framework's plan produces a format."""

    parent: str  # "source" or another format name
    kind: str  # "export" or "convert"
    function: str  # "module:function" run in the step subprocess
    packages: tuple[str, ...] = ()  # import names the step needs
    needs_cuda: bool = False
    implemented: bool = True


@dataclass(frozen=True)
class FormatDef:
    name: str
    artifact: str  # path relative to the workspace; its first folder holds everything of the format
    runtimes: tuple[str, ...]
    makers: dict[str, Maker] = field(default_factory=dict)
    description: str = ""
    options: str | None = None  # the recipe section its make step reads (e.g. "onnx", "tensorrt")
    precision: str = "fp32"  # fp32, tf32 (full); fp16, bf16, int8 (reduced: gated, see correctness.formats)
    calibrated: bool = False  # its make step reads calibration samples (kept apart from the checked ones)
    triton: str | None = None  # the Triton backend that serves it natively; None: the Python backend
    triton_positional_only: bool = False  # LibTorch binds by position: only models with positional io


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


_STEPS = "navctl.steps"
_TORCH: dict = {
    "options": "torch",
    "extra": "torch",
    "preload": ("torch",),
    "precision_option": "autocast",
    "user_ops": True,
}
# torch's export machinery (sympy, dynamo) costs 1.5-2 s per step that loads or makes an ExportedProgram:
# worth importing once, but only for plans that hold one (the TorchScript-based ONNX exporter, tried
# first, does not need it), and while the samples step and the other exports already run.
_TORCH_EXPORT: dict = {**_TORCH, "preload_later": ("torch._export.serde.serialize",)}
_ORT: dict = {"options": "onnxruntime", "extra": "onnx", "preload": ("onnxruntime",)}
_TF: dict = {"extra": "tensorflow", "preload": ("tensorflow",), "user_ops": True}

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

# The source model runs on its framework's own runtime; it is the reference and the baseline.
SOURCE_RUNTIMES: dict[str, tuple[str, ...]] = {
    "torch": ("torch", "torch-compile"),
    "tensorflow": ("tf",),
    "jax": ("jax",),
    "onnx": ("onnxruntime",),
}
SOURCE_PACKAGES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "tensorflow": ("tensorflow",),
    "jax": ("jax",),
    "onnx": ("onnx", "onnxruntime"),
}

TRT_PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8")


def _converted(
    name: str, file: str, runtime: str, make: str, needs: tuple[str, ...], about: str, **fields
) -> FormatDef:
    """A format every framework's plan makes the same way: one convert step, `make` = 'parent > module:function'."""
    parent, function = make.split(" > ")
    maker = Maker(parent, "convert", f"{_STEPS}.{function}", needs)
    return FormatDef(name, f"{name}/{file}", (runtime,), dict.fromkeys(FRAMEWORKS, maker), about, **fields)


def _trt(precision: str) -> FormatDef:
    return FormatDef(
        f"trt-{precision}",
        f"trt-{precision}/model.plan",
        ("tensorrt",),
        {
            fw: Maker(
                "onnx",
                "convert",
                f"{_STEPS}.convert_tensorrt:build_engine",
                ("tensorrt", "polygraphy"),
                needs_cuda=True,
            )
            for fw in FRAMEWORKS
        },
        f"TensorRT engine built from ONNX in {precision}",
        options="tensorrt",
        precision=precision,
        calibrated=precision == "int8",
        triton="tensorrt",
    )


FORMATS: dict[str, FormatDef] = {
    f.name: f
    for f in [
        FormatDef(
            "torchscript-trace",
            "torchscript-trace/model.pt",
            ("torchscript",),
            {"torch": Maker(SOURCE, "export", f"{_STEPS}.export_torch:torchscript_trace", ("torch",))},
            "TorchScript from torch.jit.trace",
            triton="pytorch",  # traced through FlatOutputs: tuple in, tuple out
        ),
        FormatDef(
            "torchscript-script",
            "torchscript-script/model.pt",
            ("torchscript",),
            {"torch": Maker(SOURCE, "export", f"{_STEPS}.export_torch:torchscript_script", ("torch",))},
            "TorchScript from torch.jit.script",
            triton="pytorch",
            triton_positional_only=True,  # the scripted model itself: dict outputs or keywords cannot bind
        ),
        FormatDef(
            "torch-export",
            "torch-export/model.pt2",
            ("torch-export",),
            {"torch": Maker(SOURCE, "export", f"{_STEPS}.export_torch:torch_export", ("torch",))},
            "ExportedProgram (.pt2) with a dynamic batch dimension",
        ),
        FormatDef(
            "torch-aoti",
            "torch-aoti/model.pt2",
            ("torch-aoti",),
            {
                "torch": Maker(
                    "torch-export",
                    "convert",
                    f"{_STEPS}.export_torch:aoti_package",
                    ("torch",),
                    needs_cuda=True,
                )
            },
            "AOTInductor package compiled from the ExportedProgram",
        ),
        FormatDef(
            "onnx",
            "onnx/model.onnx",
            ("onnxruntime", "onnxruntime-tensorrt"),
            {
                "torch": Maker(SOURCE, "export", f"{_STEPS}.export_torch:onnx", ("torch", "onnx")),
                "tensorflow": Maker(
                    "tf-savedmodel",
                    "convert",
                    f"{_STEPS}.export_tf:tf2onnx",
                    ("tensorflow", "tf2onnx", "onnx"),
                ),
                "jax": Maker(SOURCE, "export", f"{_STEPS}.export_jax:jax2onnx", ("jax", "jax2onnx", "onnx")),
                "onnx": Maker(SOURCE, "export", f"{_STEPS}.export_onnx:copy_onnx", ("onnx",)),
            },
            "ONNX with a dynamic batch axis",
            options="onnx",
            triton="onnxruntime",
        ),
        FormatDef(
            "tf-savedmodel",
            "tf-savedmodel/model.savedmodel",
            ("tf-savedmodel",),
            {
                "tensorflow": Maker(SOURCE, "export", f"{_STEPS}.export_tf:savedmodel", ("tensorflow",)),
                "jax": Maker(SOURCE, "export", f"{_STEPS}.export_jax:jax2tf", ("jax", "tensorflow")),
            },
            "TensorFlow SavedModel with a serving signature",
            triton="tensorflow",
        ),
        FormatDef(
            "tf-trt",
            "tf-trt/model.savedmodel",
            ("tf-savedmodel",),
            {
                fw: Maker(
                    "tf-savedmodel",
                    "convert",
                    f"{_STEPS}.export_tf:tf_trt",
                    ("tensorflow", "tensorrt"),
                    needs_cuda=True,
                    implemented=False,
                )
                for fw in ("tensorflow", "jax")
            },
            "SavedModel converted by TF-TRT",
            triton="tensorflow",
        ),
        FormatDef(
            "torch-tensorrt",
            "torch-tensorrt/model.pt2",
            ("torch-tensorrt",),
            {
                "torch": Maker(
                    "torch-export",
                    "convert",
                    f"{_STEPS}.export_torch:torch_tensorrt",
                    ("torch", "torch_tensorrt"),
                    needs_cuda=True,
                    implemented=False,
                )
            },
            "ExportedProgram compiled by Torch-TensorRT",
        ),
        # formats converted from another the same way whatever the framework
        _converted(
            "openvino",
            "model.xml",
            "openvino",
            "onnx > convert_openvino:from_onnx",
            ("openvino",),
            "OpenVINO IR converted from ONNX",
            options="openvino",
            triton="openvino",
        ),  # fmt: skip
        _converted(
            "onnx-optimized",
            "model.onnx",
            "onnxruntime",
            "onnx > convert_onnx:optimize_offline",
            ("onnxruntime",),
            "ONNX after ONNX Runtime's offline graph optimizations",
            triton="onnxruntime",
        ),  # fmt: skip
        _converted(
            "onnx-int8",
            "model.onnx",
            "onnxruntime",
            "onnx > quantize_onnx:int8",
            ("onnx", "onnxruntime"),
            "ONNX quantized by ONNX Runtime (QDQ, static or dynamic)",
            options="quantization",
            precision="int8",
            calibrated=True,
            triton="onnxruntime",
        ),  # fmt: skip
        _converted(
            "onnx-fp16",
            "model.onnx",
            "onnxruntime",
            "onnx > quantize_onnx:fp16",
            ("onnx", "onnxconverter_common"),
            "ONNX with float16 weights and compute, float32 inputs and outputs",
            precision="fp16",
            triton="onnxruntime",
        ),  # fmt: skip
        _converted(
            "openvino-int8",
            "model.xml",
            "openvino",
            "openvino > quantize_openvino:int8",
            ("openvino", "nncf"),
            "OpenVINO IR quantized by NNCF",
            options="quantization",
            precision="int8",
            calibrated=True,
            triton="openvino",
        ),  # fmt: skip
        *(_trt(p) for p in TRT_PRECISIONS),
    ]
}

FULL_PRECISIONS = ("fp32", "tf32")

# Targets that stand for several formats.
GROUPS: dict[str, tuple[str, ...]] = {
    "torchscript": ("torchscript-trace", "torchscript-script"),
    "tensorrt": tuple(f"trt-{p}" for p in TRT_PRECISIONS),  # narrowed by tensorrt.precisions
    "int8": ("onnx-int8", "openvino-int8", "trt-int8"),  # narrowed to those this machine can make
}
# Groups that stand for what this machine can make: a member it cannot make is left out of the plan
# (unless none can be made, when all are shown unavailable with what they need).
RUNNABLE_ONLY_GROUPS = ("int8",)


def formats_for(framework: str) -> list[str]:
    """Formats the framework's plan can produce, in registry order."""
    return [name for name, fmt in FORMATS.items() if framework in fmt.makers]


def targets_for(framework: str) -> list[str]:
    """Every name a recipe of this framework may list under `targets`."""
    own = formats_for(framework)
    groups = [g for g, members in GROUPS.items() if any(m in own for m in members)]
    return own + groups


def all_target_names() -> list[str]:
    return list(FORMATS) + list(GROUPS)


def expand_targets(targets: list[str], trt_precisions: list[str]) -> list[str]:
    """Replace groups by their formats (tensorrt by the chosen precisions), keeping order, no repeats."""
    out: list[str] = []
    for target in targets:
        if target == "tensorrt":
            members: tuple[str, ...] = tuple(f"trt-{p}" for p in trt_precisions)
        else:
            members = GROUPS.get(target, (target,))
        for member in members:
            if member not in out:
                out.append(member)
    return out


def candidate_precision(fmt: str, runner: str, sections: dict[str, dict]) -> str:
    """The precision a format runs at on a runner: the format's own, else one its runner's options lower
    (openvino.precision: bf16, torch.autocast: fp16). `sections`: recipe section name -> its values."""
    own = FORMATS[fmt].precision if fmt in FORMATS else "fp32"
    if own not in FULL_PRECISIONS:
        return own
    runtime = RUNTIMES[split_runner(runner)[0]]
    if runtime.options and runtime.precision_option:
        lowered = str(sections.get(runtime.options, {}).get(runtime.precision_option, "fp32"))
        if lowered not in runtime.full_precision:
            return {"f16": "fp16"}.get(lowered, lowered)
    return own


def is_reduced(precision: str) -> bool:
    return precision not in FULL_PRECISIONS


def result_key(fmt: str, runner: str) -> str:
    """`format@runner`: how results, profile steps and selections name a candidate."""
    return f"{fmt}@{runner}"


def install_hint(packages: list[str]) -> str:
    """`needs x, y (pip install 'navctl[a,b]')` for import names this machine lacks."""
    extras = sorted({PACKAGE_EXTRAS.get(p, p) for p in packages})
    return f"needs {', '.join(packages)} (pip install 'navctl[{','.join(extras)}]')"


def runner_name(runtime: str, device: str) -> str:
    return f"{runtime}-{device}"


def split_runner(runner: str) -> tuple[str, str]:
    """`onnxruntime-tensorrt-cuda` -> (`onnxruntime-tensorrt`, `cuda`)."""
    runtime, _, device = runner.rpartition("-")
    return runtime, device
