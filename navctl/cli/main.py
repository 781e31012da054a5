"""The navctl command line. Commands are thin: parse, call one core operation, show its result.

`main(argv) -> int` holds the only map from errors to exit codes. Frameworks are never imported
here: `validate`, `plan`, `status` and `inspect` start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import traceback
from pathlib import Path

import typer

from navctl import __version__
from navctl.cli import checks
from navctl.cli.options import (
    Accelerator,
    CompareBasis,
    DynamicBatchingOpt,
    Executor,
    FormatOpt,
    InstancesOpt,
    JsonOpt,
    LoadDriver,
    MaxBatchOpt,
    NameOpt,
    PackageArg,
    PackageFormats,
    PlanFormat,
    PreferredOpt,
    Protocol,
    QueueDelayOpt,
    StrategyOpt,
    TritonKind,
)
from navctl.cli.output import (
    CLICK_USAGE_ERROR,
    print_json,
    protect_streams,
    report_error,
    report_usage_error,
    stderr,
    stdout,
)
from navctl.destinations import check_file, check_folder, writing
from navctl.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, NavctlError, UsageError

app = typer.Typer(
    name="navctl",
    help="Find the fastest correct way to serve a deep-learning model.\n\n"
    "Exit codes: 0 all formats ok, 1 some format failed, 2 bad usage or recipe, 3 internal error, "
    "4 workspace locked, a destination that cannot be written, or environment unusable, 130 interrupted.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"navctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """navctl: export, convert, check, profile and select model formats, from one recipe."""


@app.command()
def validate(recipes: list[Path] = typer.Argument(..., help="Recipe files to check.", metavar="RECIPE...")) -> None:
    """Check recipes without running anything; every problem is listed with its file:line:col."""
    from navctl.errors import RecipeError
    from navctl.recipe.load import load_recipe

    errors: list[RecipeError] = []
    for recipe in recipes:
        try:
            load_recipe(recipe)
            stdout.line(f"{recipe}: ok")
        except RecipeError as exc:
            errors.append(exc)
    for error in errors[:-1]:
        report_error(error)
    if errors:
        raise errors[-1]


@app.command()
def plan(
    recipe: Path = typer.Argument(..., help="The recipe file.", metavar="RECIPE"),
    format: PlanFormat = typer.Option(PlanFormat.tree, "--format", "-f", help="tree, json or mermaid."),
) -> None:
    """Show the steps `optimize` would run: ids, dependencies, runners, and what this machine cannot run."""
    from navctl.generation.spec import learned as generation_learned
    from navctl.plan.expand import expand
    from navctl.plan.render import batching_note, plan_json, plan_mermaid, plan_tree
    from navctl.recipe.load import load_recipe
    from navctl.status import read_status

    loaded = load_recipe(recipe)
    the_plan = expand(loaded.recipe)
    try:
        last_run = read_status(loaded.resolve(loaded.recipe.workspace))
    except UsageError:  # no earlier run (or an unreadable one): nothing learned yet
        last_run = None
    the_plan.notes += [note for note in (batching_note(last_run),) if note]
    the_plan = generation_learned(the_plan, loaded.recipe, last_run)
    if format == PlanFormat.json:
        sys.stdout.write(plan_json(the_plan) + "\n")
    elif format == PlanFormat.mermaid:
        sys.stdout.write(plan_mermaid(the_plan) + "\n")
    else:
        stdout.print(plan_tree(the_plan))


@app.command()
def optimize(
    recipes: list[Path] = typer.Argument(..., help="Recipe files; several run one after another.", metavar="RECIPE..."),
    workspace: Path | None = typer.Option(
        None,
        "--workspace",
        "-w",
        help="Replaces the recipe's workspace; with several recipes, DIR/<recipe name>/.",
        metavar="DIR",
    ),
    package: Path | None = typer.Option(
        None,
        "--package",
        "-p",
        help="Where to write the .nav (default: beside the recipe, or beside --workspace).",
        metavar="FILE",
    ),
    force: bool = typer.Option(False, "--force", help="Rerun every step, ignoring cached results."),
    only: list[str] = typer.Option(
        [], "--only", help="Run steps matching this glob (and what they need); repeatable.", metavar="GLOB"
    ),
    jobs: int = typer.Option(
        0,
        "--jobs",
        "-j",
        min=0,
        metavar="N",
        show_default=False,
        help="Steps run side by side, profiling excepted (0: 2 on multi-core machines).",
    ),
    threads: int = typer.Option(
        0,
        "--threads",
        min=0,
        help="CPU threads per runner (default: recipe, else all).",
        metavar="N",
        show_default=False,
    ),
    no_package: bool = typer.Option(False, "--no-package", help="Do not write the .nav package."),
    package_formats: PackageFormats | None = typer.Option(
        None, "--package-formats", help="all (default) or selected: only the chosen formats, for deployment."
    ),
    executor: Executor = typer.Option(
        Executor.local, "--executor", help="local: one recipe after another here; ray: a Ray task per recipe."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="auto (default), host:port or ray://host:10001.", show_default=False
    ),
    ray_resources: str | None = typer.Option(
        None, "--ray-resources", help="Custom Ray resources per recipe, e.g. '{\"accelerator_type:H100\": 0.001}'."
    ),
    json_out: JsonOpt = False,
) -> None:
    """Run the recipe's plan: samples, exports, conversions, correctness, profiling, selection."""
    from navctl.engine.executor import RunOptions

    resources = checks.ray_resources(ray_resources)
    if ray_address is not None:
        checks.ray_address(ray_address)
    for option, value in (("--ray-address", ray_address), ("--ray-resources", ray_resources)):
        if value is not None and executor is not Executor.ray:
            raise checks.bad(option, value, "applies to --executor ray only")
    if package is not None and no_package:
        raise checks.bad("--package", package, "contradicts --no-package")
    options = RunOptions(force=force, only=only, jobs=jobs, threads=threads)
    formats = package_formats.value if package_formats else None
    if len(recipes) > 1 or executor is Executor.ray:
        if package is not None and len(recipes) > 1:
            raise UsageError("--package names one file; with several recipes each writes its own package")
        ray_options = None
        if executor is Executor.ray:
            from navctl.engine.ray_fleet import RayOptions

            ray_options = RayOptions(address=ray_address or "auto", resources=resources)
        code = _optimize_fleet(recipes, workspace, options, not no_package, formats, json_out, ray_options)
    else:
        code = _optimize_one(recipes[0], workspace, package, options, not no_package, formats, json_out)
    if code:
        raise typer.Exit(code)


def _optimize_one(recipe, workspace, package, options, pack: bool, formats, json_out: bool) -> int:
    from navctl.engine.launch import EarlyWorker

    # the framework's import starts now, alongside this process's own imports, validation and plan
    early = EarlyWorker(recipe)
    try:
        return _run_one(recipe, workspace, package, options, pack, formats, json_out, early)
    finally:
        early.close()


def _run_one(recipe, workspace, package, options, pack: bool, formats, json_out: bool, early) -> int:
    from navctl.engine.api import run_recipe
    from navctl.plan.expand import expand
    from navctl.recipe.load import load_recipe
    from navctl.report.console import progress_for, results_table, selection_lines
    from navctl.report.github import publish_run
    from navctl.report.summary import run_notes

    loaded = load_recipe(recipe)
    the_plan = expand(loaded.recipe)
    progress = progress_for(stderr, the_plan)
    try:
        outcome = run_recipe(
            loaded,
            workspace=workspace,
            package=package,
            pack=pack,
            options=options,
            events=progress,
            plan=the_plan,
            package_formats=formats,
            launcher_factory=early,
        )
    finally:
        progress.stop()
    status = outcome.status
    stderr.print(results_table(status, width=stderr.width))
    for note in run_notes(status):
        stderr.print(note)
    for line in selection_lines(status):
        stderr.print(f"selected for {line}")
    for note in outcome.notes:  # paths in them: never folded at the terminal's width, never read as markup
        stderr.print(note, soft_wrap=True, markup=False)
    where = f"status: {outcome.workspace / 'status.yaml'}"
    if outcome.package:
        where += f"\npackage: {outcome.package}"
    stderr.print(where, soft_wrap=True, markup=False)
    if outcome.exit_code == EXIT_INTERRUPTED:
        stderr.print(f"interrupted; resume with: {resume_command(sys.argv)}", soft_wrap=True)
    publish_run(outcome, loaded.path, list(loaded.recipe.targets))
    if json_out:
        from navctl.report.summary import run_document

        print_json(run_document(outcome))
    return outcome.exit_code


def _optimize_fleet(recipes, workspace, options, pack: bool, formats, json_out: bool, ray_options=None) -> int:
    from navctl.engine.fleet import check_fleet_destinations, load_all, run_fleet
    from navctl.report.console import FleetConsole
    from navctl.report.fleet import fleet_document, fleet_markdown, fleet_notes, fleet_table
    from navctl.report.github import publish_fleet

    entries = load_all(recipes, workspace.resolve() if workspace else None)
    check_fleet_destinations(entries, pack)
    view = FleetConsole(stderr, entries)
    if ray_options is not None:
        from navctl.engine.ray_fleet import run_fleet_on_ray

        code = run_fleet_on_ray(entries, options, ray_options, view, package_formats=formats)
    else:
        code = run_fleet(entries, options, view, pack=pack, package_formats=formats)
    stderr.print(fleet_table(entries))
    for note in fleet_notes(entries):
        stderr.line(note)
    if code == EXIT_INTERRUPTED:
        stderr.print(f"interrupted; resume with: {resume_command(sys.argv)}", soft_wrap=True)
    publish_fleet(entries, code, fleet_markdown(entries))
    if json_out:
        from navctl.report.summary import run_document

        print_json(fleet_document(entries, code, run_document))
    return code


def resume_command(argv: list[str]) -> str:
    """The command the user ran, with every option kept but --force (a resume reuses finished steps)."""
    args = [a for a in argv[1:] if a != "--force"]
    return shlex.join(["navctl", *args])


def _default_workspace() -> Path:
    """./navigator_workspace, else the only workspace one folder down (a recipe's, written beside it)."""
    here = Path("navigator_workspace")
    if here.is_dir():
        return here
    found = sorted(p.parent for p in Path().glob("*/*/status.yaml"))
    if len(found) == 1:
        return found[0]
    listed = f"; workspaces found: {', '.join(str(p) for p in found)}" if found else ""
    raise UsageError(
        f"no workspace given and there is no ./navigator_workspace{listed}",
        hint="navctl status WORKSPACE_OR_PACKAGE (a recipe's workspace is beside the recipe, e.g. "
        "recipes/navigator_workspace)",
    )


def _load_status(target: Path):
    from navctl.package import read_package_status
    from navctl.status import read_status

    if target.is_dir():
        return read_status(target)
    if target.suffix == ".nav" or target.is_file():
        return read_package_status(target)
    raise UsageError(f"{target}: no such workspace or package")


@app.command()
def status(
    target: Path | None = typer.Argument(
        None, help="A workspace folder or a .nav package (default: ./navigator_workspace).", metavar="WORKSPACE|PACKAGE"
    ),
    json_out: JsonOpt = False,
) -> None:
    """Show formats x runners with their states and figures, from a workspace or a package."""
    from navctl.report.console import results_table, selection_lines, steps_table
    from navctl.report.summary import run_notes

    st = _load_status(target if target is not None else _default_workspace())
    if json_out:
        print_json(st.model_dump(mode="json"))
        return
    stdout.print(steps_table(st, include_unavailable=False))
    stdout.print(results_table(st, width=stdout.width))
    for note in run_notes(st):
        stdout.print(note)
    for line in selection_lines(st):
        stdout.print(f"selected for {line}")
    if st.loadtest is not None:
        from navctl.loadtest.generation_run import generation_table
        from navctl.report.tables import loadtest_table

        stdout.print(f"load test: {st.loadtest.answer}")
        stdout.print(
            generation_table(st.loadtest) if getattr(st.loadtest, "generation", None) else loadtest_table(st.loadtest)
        )
    unavailable = sum(1 for s in st.steps.values() if s.state == "unavailable")
    if unavailable:
        stdout.print(f"({unavailable} steps unavailable on the machine that ran it; --json lists them)")


@app.command()
def inspect(
    package: PackageArg,
    json_out: JsonOpt = False,
) -> None:
    """Describe a package: its model's inputs and outputs, environment, formats and files."""
    from navctl.package import list_package, read_package_status
    from navctl.report.tables import inspect_document, inspect_view

    st = read_package_status(package)
    files = list_package(package)
    if json_out:
        print_json(inspect_document(st, files))
    else:
        stdout.print(inspect_view(str(package), st, files))


@app.command()
def report(
    targets: list[Path] = typer.Argument(
        ..., help="Packages or workspaces, or folders holding them (several make one fleet page).", metavar="TARGET..."
    ),
    out: Path = typer.Option(Path("navctl_report"), "--out", help="Folder for report.html, report.md and plots."),
) -> None:
    """Write report.html (self-contained: charts, correctness, timeline, environment), report.md and,
    with matplotlib (navctl[report]), PNG plots."""
    from navctl.report.files import write_reports

    check_folder(out, "--out")
    with writing(out, "--out"):
        written = write_reports(targets, out)
    for line in written:
        stdout.print(line)


@app.command()
def diff(
    base: Path = typer.Argument(..., help="The baseline: a .nav package or a workspace.", metavar="BASE"),
    new: Path = typer.Argument(..., help="The run to compare with it.", metavar="NEW"),
    fail_on_regression: str | None = typer.Option(
        None, "--fail-on-regression", help="Exit 1 when speed drops or latency grows by more than this (e.g. 5%)."
    ),
    compare: CompareBasis = typer.Option(
        CompareBasis.relative,
        "--compare",
        help="relative: each format's speed against the source model measured in the same rounds (survives "
        "a slower runner); raw: the figures as measured (one dedicated machine).",
    ),
    json_out: JsonOpt = False,
) -> None:
    """Compare correctness and speed per format@runner between two runs (a CI gate)."""
    from navctl.report.comparability import comparability_warnings
    from navctl.report.diff import diff_status, verdict_caveat
    from navctl.report.github_diff import publish_diff
    from navctl.report.tables import diff_document, diff_verdict, diff_view

    threshold = checks.percent(fail_on_regression, "--fail-on-regression") if fail_on_regression is not None else 5.0
    base_status, new_status = _load_status(base), _load_status(new)
    rows = diff_status(base_status, new_status, threshold, compare.value)
    warnings = comparability_warnings(base_status, new_status)
    note = verdict_caveat(base_status, new_status, rows)
    if json_out:
        print_json(diff_document(threshold, rows, warnings, note))
    else:
        for warning in warnings:
            stderr.print(f"warning: {warning}")
        stdout.print(diff_view(threshold, rows, compare.value, note))
    gating = fail_on_regression is not None
    publish_diff(threshold, rows, warnings, diff_verdict(threshold, rows, compare.value, note), gating)
    if gating and any(r.regressions for r in rows):
        raise typer.Exit(1)


@app.command()
def triton(
    package: PackageArg,
    repo: Path = typer.Option(..., "--repo", help="The Triton model repository folder to write into.", metavar="DIR"),
    name: NameOpt = None,
    strategy: StrategyOpt = "max-throughput",
    format_key: FormatOpt = None,
    max_batch_size: MaxBatchOpt = None,
    dynamic_batching: DynamicBatchingOpt = None,
    preferred: PreferredOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    queue_delay_us: QueueDelayOpt = 100,
    instances: InstancesOpt = 1,
    kind: TritonKind = typer.Option(TritonKind.auto, "--kind", help="auto follows the runner's device."),
    accelerator: Accelerator = typer.Option(Accelerator.none, "--accelerator", help="ONNX formats only."),
    from_loadtest: bool = typer.Option(
        False, "--from-loadtest", help="Batching settings (and format) from the package's `navctl loadtest` results."
    ),
) -> None:
    """Write a Triton model repository entry (config.pbtxt + model files) for one format of a package."""
    checks.serving(strategy, format_key, name, max_batch_size, preferred, dynamic_batching)
    check_folder(repo, "--repo")
    from navctl.nav import load
    from navctl.triton.repository import TritonOptions, write_repository

    options = TritonOptions(
        name=name,
        key=format_key,
        strategy=strategy,
        max_batch_size=max_batch_size,
        dynamic_batching=dynamic_batching,
        preferred_batch_sizes=list(preferred),
        max_queue_delay_us=queue_delay_us,
        instances=instances,
        kind=kind.value,  # type: ignore[arg-type]
        accelerator=accelerator.value,  # type: ignore[arg-type]
    )
    if from_loadtest:
        from navctl.loadtest.run import apply_loadtest

        apply_loadtest(package, options, lambda line: stderr.print(line))
    with load(package) as pkg, writing(repo, "--repo"):
        model_dir = write_repository(pkg, repo, options)
    stdout.print(f"wrote {model_dir / 'config.pbtxt'}")
    for path in sorted((model_dir / "1").iterdir()):
        stdout.print(f"wrote {path}")


@app.command()
def serve(
    package: PackageArg,
    strategy: StrategyOpt = "max-throughput",
    format_key: FormatOpt = None,
    name: NameOpt = None,
    address: str = typer.Option("127.0.0.1", "--address", help="Listen address (0.0.0.0 for every interface)."),
    http_port: int = typer.Option(8000, "--http-port", min=1, max=65535),
    grpc_port: int = typer.Option(8001, "--grpc-port", min=1, max=65535),
    metrics_port: int = typer.Option(8002, "--metrics-port", min=1, max=65535),
    max_batch_size: MaxBatchOpt = None,
    dynamic_batching: DynamicBatchingOpt = None,
    preferred: PreferredOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    queue_delay_us: QueueDelayOpt = 100,
    instances: InstancesOpt = 1,
    null_model: str | None = typer.Option(None, "--null-model", hidden=True),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="Triton's own log (default: a file in the system temp folder, printed at start)."
    ),
) -> None:
    """Serve a package's selected format with a real Triton server (PyTriton) until Ctrl-C."""
    import tempfile

    checks.serving(strategy, format_key, name, max_batch_size, preferred, dynamic_batching)
    checks.listen_address(address)
    checks.distinct_ports(http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port)
    if log_file is None:
        log_file = Path(tempfile.gettempdir()) / f"navctl-serve-{os.getpid()}.log"
    check_file(log_file, "--log-file", "triton.log")
    from navctl.triton.serve import ServeOptions
    from navctl.triton.serve import serve as run_server

    stderr.print(f"starting Triton; its log: {log_file}")
    options = ServeOptions(
        key=format_key,
        strategy=strategy,
        name=name,
        address=address,
        http_port=http_port,
        grpc_port=grpc_port,
        metrics_port=metrics_port,
        max_batch_size=max_batch_size,
        dynamic_batching=dynamic_batching,
        max_queue_delay_us=queue_delay_us,
        preferred_batch_sizes=list(preferred),
        instances=instances,
        null_model=null_model,
        log_file=log_file.resolve(),
    )
    run_server(package, options, ready=lambda line: stdout.print(line), say=lambda line: stderr.print(line))
    stdout.print("stopped")
    _SKIP_TEARDOWN.add("serve")


@app.command()
def loadtest(
    package: PackageArg,
    strategy: StrategyOpt = "max-throughput",
    format_key: FormatOpt = None,
    concurrency: str = typer.Option("1,2,4,8", "--concurrency", help="Closed loop: requests in flight, e.g. 1,2,4,8."),
    request_rate: str | None = typer.Option(
        None, "--request-rate", help="Open loop (Poisson arrivals) instead: rates per second, e.g. 100:2000:100."
    ),
    latency_budget: str | None = typer.Option(
        None, "--latency-budget", help="Find the highest load whose p99 stays within this, e.g. 20ms."
    ),
    duration: str = typer.Option("5s", "--duration", help="The most one load point may take."),
    protocol: Protocol = typer.Option(Protocol.http, "--protocol"),
    batch: int = typer.Option(1, "--batch", min=1, help="Samples per request."),
    shape: str | None = typer.Option(
        None,
        "--shape",
        help="What each request sends: typical (default), min, max, or dims per input, e.g. input_ids:1x64.",
    ),
    tune: bool = typer.Option(False, "--tune", help="Try dynamic batching settings and instance counts."),
    tune_budget: str | None = typer.Option(None, "--tune-budget", help="The most --tune may take (default: 120s)."),
    tune_delays: str | None = typer.Option(
        None, "--tune-delays", help="Queue delays (us) --tune tries (default: 0,100,500,2000)."
    ),
    tune_instances: str | None = typer.Option(
        None, "--tune-instances", help="Instance counts --tune tries (default: 1,2)."
    ),
    driver: LoadDriver = typer.Option(LoadDriver.auto, "--driver", help="auto: perf_analyzer when on PATH."),
    max_batch_size: MaxBatchOpt = None,
    dynamic_batching: DynamicBatchingOpt = None,
    preferred: PreferredOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    queue_delay_us: QueueDelayOpt = 100,
    instances: InstancesOpt = 1,
    keep: bool = typer.Option(True, "--record/--no-record", help="Write the results into the package."),
    json_out: JsonOpt = False,
) -> None:
    """Serve a package's format through Triton (PyTriton) on 127.0.0.1 and measure it under load."""
    checks.serving(strategy, format_key, None, max_batch_size, preferred, dynamic_batching)
    if max_batch_size is not None and batch > max_batch_size:
        raise checks.bad("--batch", batch, f"above --max-batch-size {max_batch_size}")
    tuning = {"--tune-budget": tune_budget, "--tune-delays": tune_delays, "--tune-instances": tune_instances}
    for option, value in tuning.items():
        if value is not None and not tune:
            raise checks.bad(option, value, "applies to --tune, which is not given")
    checks.request_shape(shape)
    from navctl.loadtest.generation_run import generation_table
    from navctl.loadtest.run import LoadtestOptions, record, run_loadtest
    from navctl.report.tables import loadtest_table
    from navctl.status import ServingConfig

    options = LoadtestOptions(
        key=format_key,
        strategy=strategy,
        concurrency=checks.levels(concurrency, "--concurrency", whole=True),
        request_rates=checks.levels(request_rate, "--request-rate", whole=False) if request_rate else [],
        latency_budget_ms=checks.duration(latency_budget, "--latency-budget") * 1000 if latency_budget else None,
        duration_s=checks.duration(duration, "--duration"),
        protocol=protocol.value,
        batch=batch,
        shape=shape,
        tune=tune,
        tune_budget_s=checks.duration(tune_budget or "120s", "--tune-budget"),
        tune_delays_us=checks.levels(tune_delays or "0,100,500,2000", "--tune-delays", whole=True, zero_ok=True),
        tune_instances=checks.levels(tune_instances or "1,2", "--tune-instances", whole=True),
        driver=driver.value,
        merging_asked=dynamic_batching,
        config=ServingConfig(
            dynamic_batching=dynamic_batching is not False,
            max_queue_delay_us=queue_delay_us,
            preferred_batch_sizes=list(preferred),
            instances=instances,
            max_batch_size=max_batch_size,
        ),
    )
    say = (lambda line: stderr.print(line)) if json_out else (lambda line: stdout.print(line))
    info = run_loadtest(package, options, say)
    if keep:
        record(package, info)
    if json_out:
        print_json(info.model_dump(mode="json"))
        return
    stdout.print(info.answer)
    stdout.print(generation_table(info) if getattr(info, "generation", None) else loadtest_table(info))


@app.command()
def schema(
    out: Path = typer.Option(Path("schemas"), "--out", help="Folder for recipe.schema.json and status.schema.json."),
) -> None:
    """Write the JSON Schemas of recipes and status.yaml (for editors and other tools)."""
    from navctl.schemas import write_schemas

    check_folder(out, "--out")
    with writing(out, "--out"):
        written = write_schemas(out)
    for path in written:
        stdout.print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place where errors become exit codes."""
    try:
        # Not standalone: Typer's own usage errors come back here, to be shown in navctl's format; an
        # explicit exit (typer.Exit, --help, --version) comes back as its code.
        code = app(args=argv, prog_name="navctl", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except CLICK_USAGE_ERROR as exc:
        return report_usage_error(exc)
    except NavctlError as exc:
        report_error(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("navctl: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception:
        if os.environ.get("NAVCTL_DEBUG"):
            traceback.print_exc()
        else:
            exc_type, exc_value = sys.exc_info()[:2]
            sys.stderr.write(
                f"navctl: internal error: {exc_type.__name__}: {exc_value}\n"
                "set NAVCTL_DEBUG=1 for the traceback, and please report it\n"
            )
        return EXIT_INTERNAL


# Commands that loaded a framework in this process and closed all they opened (serve, once its
# server stopped) exit without the interpreter's teardown: torch's alone takes about a second, which a
# load test pays for every server configuration it tries.
_SKIP_TEARDOWN: set[str] = set()


def run() -> None:
    protect_streams()
    code = main()
    if _SKIP_TEARDOWN:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
