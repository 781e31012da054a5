"""Every format navctl knows, as plain data: how each framework makes it, where its artifact lives, which
runtimes run it. Plan expansion walks these tables.

Adding a format = one `FormatDef` + one step function; usually one runner class too (navctl.plan.runtimes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from navctl.plan.keys import trt_format
from navctl.plan.runtimes import FRAMEWORKS

SOURCE = "source"  # the recipe's own model: the reference and the baseline, never a candidate


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


_STEPS = "navctl.steps"
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
        trt_format(precision),
        f"{trt_format(precision)}/model.plan",
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
    "tensorrt": tuple(trt_format(p) for p in TRT_PRECISIONS),  # narrowed by tensorrt.precisions
    "int8": ("onnx-int8", "openvino-int8", trt_format("int8")),  # narrowed to those this machine can make
}
# Groups that stand for what this machine can make: a member it cannot make is left out of the plan
# (unless none can be made, when all are shown unavailable with what they need).
RUNNABLE_ONLY_GROUPS = ("int8",)
