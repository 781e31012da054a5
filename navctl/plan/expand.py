"""Recipe -> Plan, a pure function of the recipe and what the machine offers."""

from __future__ import annotations

from dataclasses import dataclass, field

from navctl import __version__
from navctl.errors import EnvironmentProblem
from navctl.plan import registry
from navctl.plan.environment import cuda_available, distribution_version, module_available
from navctl.plan.kinds import kind
from navctl.plan.models import Plan, PlannedStep
from navctl.recipe.models import Recipe

SAMPLES = "samples"
SELECT = "select"


@dataclass
class Machine:
    """What the plan needs to know about the machine; injectable so expansion stays pure in tests."""

    cuda: bool
    modules: dict[str, bool] = field(default_factory=dict)
    distributions: dict[str, bool] = field(default_factory=dict)

    def has_module(self, name: str) -> bool:
        if name not in self.modules:
            self.modules[name] = module_available(name)
        return self.modules[name]

    def has_distribution(self, name: str) -> bool:
        if name not in self.distributions:
            self.distributions[name] = distribution_version(name) is not None
        return self.distributions[name]

    @classmethod
    def detect(cls) -> Machine:
        return cls(cuda=cuda_available())


def resolve_device(requested: str, machine: Machine) -> str:
    if requested == "cuda" and not machine.cuda:
        raise EnvironmentProblem(
            "the recipe asks for device: cuda, but no CUDA device is visible",
            hint="use device: auto or cpu, or run on a machine with an NVIDIA GPU and driver",
        )
    if requested == "auto":
        return "cuda" if machine.cuda else "cpu"
    return requested


class _Steps:
    """The plan's steps as they are added: a step whose dependency is unavailable is unavailable too."""

    def __init__(self) -> None:
        self.steps: list[PlannedStep] = []
        self.by_id: dict[str, PlannedStep] = {}

    def add(self, step_kind: str, step_id: str, **fields) -> PlannedStep:
        """A step of `step_kind`, with the kind's facts (its function, whether it runs alone or inline)."""
        entry = kind(step_kind)
        fields.setdefault("function", entry.function)
        step = PlannedStep(id=step_id, kind=step_kind, exclusive=entry.exclusive, inline=entry.inline, **fields)
        blocked = [d for d in step.deps if d in self.by_id and not self.by_id[d].available]
        if step.available and blocked and not step.inline:
            step.available = False
            step.reason = f"needs {blocked[0]}, which is unavailable"
        self.steps.append(step)
        self.by_id[step.id] = step
        return step


def _missing(packages: tuple[str, ...], machine: Machine) -> list[str]:
    return [p for p in packages if not machine.has_module(p)]


def expand(recipe: Recipe, machine: Machine | None = None) -> Plan:
    """Expand a validated recipe into the ordered list of steps, marking what cannot run here."""
    machine = machine or Machine.detect()
    device = resolve_device(recipe.device, machine)
    fw = recipe.framework
    wanted = _runnable_group_members(
        recipe.targets, registry.expand_targets(recipe.targets, recipe.tensorrt.precisions), fw, machine
    )
    formats = registry.with_parents(wanted, fw)
    plan = _Steps()

    # The samples step runs the source model on the run's device with its framework's first runtime.
    missing = _missing(registry.SOURCE_PACKAGES[fw], machine)
    source_runtime = registry.RUNTIMES[registry.SOURCE_RUNTIMES[fw][0]]
    reason = registry.install_hint(missing) if missing else _runner_reason(source_runtime, device, device, machine)
    plan.add("samples", SAMPLES, format=registry.SOURCE, device=device, available=not reason, reason=reason)
    make_step: dict[str, str] = {}
    for name in formats:
        maker = registry.FORMATS[name].makers[fw]
        parent = SAMPLES if maker.parent == registry.SOURCE else make_step[maker.parent]
        step_id = f"{maker.kind}/{name}"
        make_step[name] = step_id
        reason = _format_reason(maker, machine)
        plan.add(
            maker.kind,
            step_id,
            format=name,
            device=device,
            function=maker.function,
            deps=[SAMPLES] if parent == SAMPLES else [parent, SAMPLES],
            available=not reason,
            reason=reason,
        )
    final_deps: list[str] = []
    for name in [registry.SOURCE, *formats]:
        runtimes = registry.SOURCE_RUNTIMES[fw] if name == registry.SOURCE else registry.FORMATS[name].runtimes
        for runtime_name in runtimes:
            runtime = registry.RUNTIMES[runtime_name]
            for dev in runtime.devices:
                final_deps += _runner_steps(recipe, name, runtime, dev, device, machine, make_step, plan)
    plan.add("select", SELECT, deps=final_deps)
    return Plan(
        recipe=recipe.name,
        framework=fw,
        device=device,
        cuda_available=machine.cuda,
        targets=wanted,
        formats=formats,
        steps=plan.steps,
    )


def _runnable_group_members(targets: list[str], wanted: list[str], fw: str, machine: Machine) -> list[str]:
    """Drop the members of a runnable-only group (`int8`) that this machine cannot make, unless the recipe
    names them itself or none of the group's members can be made (then all show what they need)."""
    dropped: set[str] = set()
    for group in registry.RUNNABLE_ONLY_GROUPS:
        if group not in targets:
            continue
        members = [m for m in registry.GROUPS[group] if fw in registry.FORMATS[m].makers]
        cannot = {m for m in members if m not in targets and _chain_reason(m, fw, machine)}
        if len(cannot) < len(members):
            dropped |= cannot
    return [f for f in wanted if f not in dropped]


def _chain_reason(fmt: str, fw: str, machine: Machine) -> str:
    """Why this format, or a format it is made from, cannot be made here ('' when it can)."""
    while fmt != registry.SOURCE:
        maker = registry.FORMATS[fmt].makers[fw]
        reason = _format_reason(maker, machine)
        if reason:
            return reason
        fmt = maker.parent
    return ""


def _format_reason(maker: registry.Maker, machine: Machine) -> str:
    if not maker.implemented:
        return f"not implemented in navctl {__version__}"
    if maker.needs_cuda and not machine.cuda:
        return "needs a CUDA device"
    missing = _missing(maker.packages, machine)
    return registry.install_hint(missing) if missing else ""


def _runner_reason(runtime: registry.RuntimeDef, dev: str, device: str, machine: Machine) -> str:
    if not runtime.implemented:
        return f"runner not implemented in navctl {__version__}"
    if dev != device:
        why = "no CUDA device is visible" if dev == "cuda" and not machine.cuda else f"the run's device is {device}"
        return f"{dev} runner: {why}"
    missing = _missing(runtime.packages, machine)
    if dev == "cuda":
        missing += [d for d in runtime.cuda_distributions if not machine.has_distribution(d)]
    return registry.install_hint(missing) if missing else ""


def _runner_steps(recipe, fmt, runtime, dev, device, machine, make_step, plan: _Steps) -> list[str]:
    """Correctness, profile and verify steps of one format on one runner; returns the ids select waits on."""
    runner = registry.runner_name(runtime.name, dev)
    key = registry.result_key(fmt, runner)
    reason = _runner_reason(runtime, dev, device, machine)
    on_runner = {"format": fmt, "runner": runner, "device": dev, "available": not reason, "reason": reason}
    ends: list[str] = []
    if fmt == registry.SOURCE:
        check_id = SAMPLES
    else:
        check_id = f"correctness/{key}"
        plan.add("correctness", check_id, deps=[make_step[fmt], SAMPLES], **on_runner)
        ends.append(check_id)
        if recipe.verify is not None:
            verify_id = f"verify/{key}"
            # the format's outputs, and the source's as the reference
            plan.add("verify", verify_id, deps=[check_id, SAMPLES], **on_runner)
            ends.append(verify_id)
    if recipe.profiling.enabled:
        profile_id = f"profile/{key}"
        deps = [check_id] if check_id == SAMPLES else [check_id, make_step[fmt]]
        plan.add("profile", profile_id, deps=deps, **on_runner)
        ends.append(profile_id)
    return ends
