"""The one place that builds and reads navctl's compound names; nothing else splits them.

- a runner is `<runtime>-<device>` (`onnxruntime-tensorrt-cuda`: runtime `onnxruntime-tensorrt`, device
  `cuda`): runtime names hold dashes, so the device is the part after the last one;
- a key is `<format>@<runner>` (`onnx@onnxruntime-cpu`): how results, profile steps, selections and
  `--format` name a candidate;
- a step id is `<kind>/<subject>` (`export/onnx`, `correctness/onnx@onnxruntime-cpu`), or a kind alone
  (`samples`, `select`);
- a TensorRT engine's format is `trt-<precision>`.

Bad names are refused with `BadName`, a `UsageError` (exit 2) that is also a `ValueError` (so a Pydantic
validator turns it into a recipe problem).
"""

from __future__ import annotations

from navctl.errors import UsageError
from navctl.plan.runtimes import DEVICES

KEY_SEP = "@"
STEP_SEP = "/"
TRT_PREFIX = "trt-"


class BadName(UsageError, ValueError):
    """A runner, key or step id that does not have navctl's shape."""


def runner_name(runtime: str, device: str) -> str:
    return f"{runtime}-{device}"


def split_runner(runner: str) -> tuple[str, str]:
    """`onnxruntime-tensorrt-cuda` -> (`onnxruntime-tensorrt`, `cuda`)."""
    runtime, dash, device = runner.rpartition("-")
    if not dash or not runtime or device not in DEVICES:
        raise BadName(f"'{runner}' is not a runner: expected RUNTIME-DEVICE with a device of {', '.join(DEVICES)}")
    return runtime, device


def runtime_of(runner: str) -> str:
    return split_runner(runner)[0]


def device_of(name: str) -> str:
    """The device a runner (`onnxruntime-cuda`) or a key (`onnx@onnxruntime-cuda`) runs on."""
    return split_runner(runner_of(name) if KEY_SEP in name else name)[1]


def result_key(fmt: str, runner: str) -> str:
    """`format@runner`: how results, profile steps and selections name a candidate."""
    return f"{fmt}{KEY_SEP}{runner}"


def split_key(key: str) -> tuple[str, str]:
    """`onnx@onnxruntime-cpu` -> (`onnx`, `onnxruntime-cpu`); the runner's own shape is not checked here."""
    fmt, sep, runner = key.partition(KEY_SEP)
    if not sep or not fmt or not runner or KEY_SEP in runner:
        raise BadName(f"'{key}' is not 'format@runner'")
    return fmt, runner


def format_of(key: str) -> str:
    return split_key(key)[0]


def runner_of(key: str) -> str:
    return split_key(key)[1]


def step_id(kind: str, subject: str = "") -> str:
    """`export/onnx`, `profile/onnx@onnxruntime-cpu`; a kind alone for a step of the whole run."""
    return f"{kind}{STEP_SEP}{subject}" if subject else kind


def step_subject(step: str) -> str:
    """What a step id's step works on: a format (`export/onnx`) or a key (`profile/onnx@...`); '' for
    a step of the whole run (`samples`)."""
    return step.partition(STEP_SEP)[2]


def step_format(step: str) -> str | None:
    """The format a step id names (`correctness/onnx@onnxruntime-cpu` -> `onnx`); None for `samples`."""
    return step_subject(step).partition(KEY_SEP)[0] or None


def trt_format(precision: str) -> str:
    return f"{TRT_PREFIX}{precision}"


def trt_precision(fmt: str) -> str | None:
    """The precision of a TensorRT engine format (`trt-fp16` -> `fp16`); None for other formats."""
    return fmt[len(TRT_PREFIX) :] if fmt.startswith(TRT_PREFIX) else None
