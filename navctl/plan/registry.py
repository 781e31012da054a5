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
    artifact: str  # path relative to the workspace
    runtimes: tuple[str, ...]
    makers: dict[str, Maker] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class RuntimeDef:
    """A runtime runs formats; `<runtime>-<device>` names a runner."""

    name: str
    devices: tuple[str, ...]
    runner: str  # "module:Class"
    packages: tuple[str, ...] = ()
    cuda_distributions: tuple[str, ...] = ()  # pip distributions needed on CUDA only
    implemented: bool = True


_STEPS = "navctl.steps"

RUNTIMES: dict[str, RuntimeDef] = {
    r.name: r
    for r in [
        RuntimeDef("torch", DEVICES, "navctl.runners.torch_runners:TorchEagerRunner", ("torch",)),
        RuntimeDef(
            "torch-compile",
            ("cuda",),
            "navctl.runners.torch_runners:TorchCompileRunner",
            ("torch",),
        ),
        RuntimeDef("torchscript", DEVICES, "navctl.runners.torch_runners:TorchScriptRunner", ("torch",)),
        RuntimeDef("torch-export", DEVICES, "navctl.runners.torch_runners:TorchExportRunner", ("torch",)),
        RuntimeDef("torch-aoti", ("cuda",), "navctl.runners.torch_runners:AotiRunner", ("torch",)),
        RuntimeDef(
            "torch-tensorrt",
            ("cuda",),
            "navctl.runners.torch_runners:TorchTensorRTRunner",
            ("torch", "torch_tensorrt"),
            implemented=False,
        ),
        RuntimeDef(
            "onnxruntime",
            DEVICES,
            "navctl.runners.onnxruntime:OnnxRuntimeRunner",
            ("onnxruntime",),
            cuda_distributions=("onnxruntime-gpu",),
        ),
        RuntimeDef(
            "onnxruntime-tensorrt",
            ("cuda",),
            "navctl.runners.onnxruntime:OnnxRuntimeRunner",
            ("onnxruntime", "tensorrt"),
            cuda_distributions=("onnxruntime-gpu",),
        ),
        RuntimeDef(
            "tensorrt",
            ("cuda",),
            "navctl.runners.tensorrt:TensorRTRunner",
            ("tensorrt", "polygraphy"),
        ),
        RuntimeDef("openvino", ("cpu",), "navctl.runners.openvino:OpenVinoRunner", ("openvino",)),
        RuntimeDef("tf", DEVICES, "navctl.runners.tf:TfEagerRunner", ("tensorflow",)),
        RuntimeDef("tf-savedmodel", DEVICES, "navctl.runners.tf:SavedModelRunner", ("tensorflow",)),
        RuntimeDef("jax", DEVICES, "navctl.runners.jax:JaxRunner", ("jax",)),
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
        ),
        FormatDef(
            "torchscript-script",
            "torchscript-script/model.pt",
            ("torchscript",),
            {"torch": Maker(SOURCE, "export", f"{_STEPS}.export_torch:torchscript_script", ("torch",))},
            "TorchScript from torch.jit.script",
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
        FormatDef(
            "openvino",
            "openvino/model.xml",
            ("openvino",),
            {fw: Maker("onnx", "convert", f"{_STEPS}.convert_openvino:from_onnx", ("openvino",)) for fw in FRAMEWORKS},
            "OpenVINO IR converted from ONNX",
        ),
        FormatDef(
            "onnx-optimized",
            "onnx-optimized/model.onnx",
            ("onnxruntime",),
            {
                fw: Maker("onnx", "convert", f"{_STEPS}.convert_onnx:optimize_offline", ("onnxruntime",))
                for fw in FRAMEWORKS
            },
            "ONNX after ONNX Runtime's offline graph optimizations",
        ),
        *(_trt(p) for p in TRT_PRECISIONS),
    ]
}

# Targets that stand for several formats.
GROUPS: dict[str, tuple[str, ...]] = {
    "torchscript": ("torchscript-trace", "torchscript-script"),
    "tensorrt": tuple(f"trt-{p}" for p in TRT_PRECISIONS),  # narrowed by tensorrt.precisions
}


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


def runner_name(runtime: str, device: str) -> str:
    return f"{runtime}-{device}"


def split_runner(runner: str) -> tuple[str, str]:
    """`onnxruntime-tensorrt-cuda` -> (`onnxruntime-tensorrt`, `cuda`)."""
    runtime, _, device = runner.rpartition("-")
    return runtime, device
