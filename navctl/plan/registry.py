"""Everything known of formats, runtimes and frameworks: the tables (navctl.plan.formats, .runtimes), the
names built from them (navctl.plan.keys), and the facts read off them. Every other module asks here.

Adding a format = one `FormatDef` (how each framework makes it, where its artifact lives, which
runtimes run it) + one step function; usually one runner class too.
"""

from __future__ import annotations

from navctl.plan.formats import (
    FORMATS,
    FULL_PRECISIONS,
    GROUPS,
    RUNNABLE_ONLY_GROUPS,
    SOURCE,
    TRT_PRECISIONS,
    FormatDef,
    Maker,
)
from navctl.plan.keys import (
    BadName,
    device_of,
    format_of,
    result_key,
    runner_name,
    runner_of,
    runtime_of,
    split_key,
    split_runner,
    step_format,
    step_id,
    step_subject,
    trt_format,
    trt_precision,
)
from navctl.plan.runtimes import (
    DEVICES,
    FRAMEWORK_DEFS,
    FRAMEWORKS,
    PACKAGE_EXTRAS,
    RUNTIMES,
    SOURCE_PACKAGES,
    SOURCE_RUNTIMES,
    TRACKED_DISTRIBUTIONS,
    FrameworkDef,
    RuntimeDef,
)

__all__ = [
    "DEVICES",
    "FORMATS",
    "FRAMEWORKS",
    "FRAMEWORK_DEFS",
    "FULL_PRECISIONS",
    "GROUPS",
    "PACKAGE_EXTRAS",
    "RUNNABLE_ONLY_GROUPS",
    "RUNTIMES",
    "SOURCE",
    "SOURCE_PACKAGES",
    "SOURCE_RUNTIMES",
    "TRACKED_DISTRIBUTIONS",
    "TRT_PRECISIONS",
    "BadName",
    "FormatDef",
    "FrameworkDef",
    "Maker",
    "RuntimeDef",
    "all_target_names",
    "candidate_precision",
    "covers",
    "device_of",
    "expand_targets",
    "format_of",
    "formats_for",
    "install_hint",
    "is_reduced",
    "path_frameworks",
    "result_key",
    "runner_name",
    "runner_of",
    "runtime_def",
    "runtime_of",
    "split_key",
    "split_runner",
    "step_format",
    "step_id",
    "step_subject",
    "targets_for",
    "trt_format",
    "trt_precision",
]


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
            members: tuple[str, ...] = tuple(trt_format(p) for p in trt_precisions)
        else:
            members = GROUPS.get(target, (target,))
        for member in members:
            if member not in out:
                out.append(member)
    return out


def covers(target: str, fmt: str) -> bool:
    """A recipe's `targets` entry asks for the format: it names it, or a group holding it."""
    return fmt == target or fmt in GROUPS.get(target, ())


def runtime_def(runner: str) -> RuntimeDef:
    """The runtime a runner name runs (`onnxruntime-tensorrt-cuda` -> onnxruntime-tensorrt's facts)."""
    return RUNTIMES[runtime_of(runner)]


def path_frameworks() -> list[str]:
    """Frameworks whose model can be given as a file (model.path), alphabetically (for messages)."""
    return sorted(f.name for f in FRAMEWORK_DEFS.values() if f.model_file)


def candidate_precision(fmt: str, runner: str, sections: dict[str, dict]) -> str:
    """The precision a format runs at on a runner: the format's own, else one its runner's options lower
    (openvino.precision: bf16, torch.autocast: fp16). `sections`: recipe section name -> its values."""
    own = FORMATS[fmt].precision if fmt in FORMATS else "fp32"
    if own not in FULL_PRECISIONS:
        return own
    runtime = runtime_def(runner)
    if runtime.options and runtime.precision_option:
        lowered = str(sections.get(runtime.options, {}).get(runtime.precision_option, "fp32"))
        if lowered not in runtime.full_precision:
            return {"f16": "fp16"}.get(lowered, lowered)
    return own


def is_reduced(precision: str) -> bool:
    return precision not in FULL_PRECISIONS


def install_hint(packages: list[str]) -> str:
    """`needs x, y (pip install 'navctl[a,b]')` for import names this machine lacks."""
    extras = sorted({PACKAGE_EXTRAS.get(p, p) for p in packages})
    return f"needs {', '.join(packages)} (pip install 'navctl[{','.join(extras)}]')"
