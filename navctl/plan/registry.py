"""Everything known of formats, runtimes and frameworks: the tables (navctl.plan.formats, .runtimes), the
names built from them (navctl.plan.keys), and the facts read off them. Every other module asks here.

Adding a format = one `FormatDef` (how each framework makes it, where its artifact lives, which
runtimes run it) + one step function; usually one runner class too.
"""

from __future__ import annotations

from navctl.errors import suggest
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
    "all_runners",
    "all_target_names",
    "candidate_precision",
    "covers",
    "device_of",
    "expand_targets",
    "format_of",
    "formats_for",
    "install_hint",
    "is_reduced",
    "key_problem",
    "path_frameworks",
    "result_key",
    "runner_name",
    "runners_of",
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
    "with_parents",
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


def with_parents(wanted: list[str], framework: str) -> list[str]:
    """`wanted` with the formats each is made from (onnx for trt-fp16) before it: every format a plan makes,
    each a candidate."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name == SOURCE:
            return
        visit(FORMATS[name].makers[framework].parent)
        ordered.append(name)

    for name in wanted:
        visit(name)
    return ordered


def all_runners() -> list[str]:
    return [runner_name(r.name, d) for r in RUNTIMES.values() for d in r.devices]


def runners_of(fmt: str, framework: str | None = None) -> list[str]:
    """The runners a format runs on; the source's are its framework's (any framework's when not given)."""
    if fmt == SOURCE:
        runtimes = SOURCE_RUNTIMES[framework] if framework else [r for f in FRAMEWORKS for r in SOURCE_RUNTIMES[f]]
    else:
        runtimes = FORMATS[fmt].runtimes
    return list(dict.fromkeys(runner_name(r, d) for r in runtimes for d in RUNTIMES[r].devices))


def key_problem(key: str, framework: str | None = None, made: list[str] | None = None) -> str | None:
    """What is wrong with a `format@runner` naming a candidate (None: nothing): an unknown format or runner, a
    runner that does not run the format, or (given `made`, the formats a plan makes) a format outside them.
    One check for `--format` and `selection.pin`. Raises BadName when the key is not `format@runner`."""
    fmt, runner = split_key(key)
    formats = [SOURCE, *FORMATS]
    if fmt not in formats:
        listed = f"; the targets make {', '.join(made)}" if made else ""
        return f"unknown format '{fmt}'{suggest(fmt, made or []) or suggest(fmt, formats) or listed}"
    own = runners_of(fmt, framework)
    runners = all_runners()
    if runner not in runners:
        # the format's own runners first: 'onnx@onnxruntime-cpy' means onnxruntime-cpu, not openvino-cpu
        hint = suggest(runner, own) or suggest(runner, runners) or f"; {fmt} runs on {', '.join(own)}"
        return f"unknown runner '{runner}'{hint}"
    if made is not None and fmt == SOURCE:
        return f"source is the recipe's own model, the baseline, never selected; pin one of {', '.join(made)}"
    if made is not None and fmt not in made:
        return f"the targets make no {fmt}; they make {', '.join(made)}{suggest(fmt, made)}"
    if runner not in own:
        return f"{fmt} does not run on {runner}; its runners: {', '.join(own)}{suggest(runner, own)}"
    return None


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
