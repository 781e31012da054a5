"""`navctl optimize`: run one recipe's plan here, or several (a fleet) here or on Ray."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from navctl.cli import checks
from navctl.cli.options import Executor, JsonOpt, PackageFormats
from navctl.cli.output import print_json, stderr
from navctl.errors import EXIT_INTERRUPTED, UsageError


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
    from navctl.report.console import failure_lines, progress_for, results_table, selection_lines
    from navctl.report.github import publish_run
    from navctl.report.notes import run_notes

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
    # a path in each: never read as markup, and one to open from here
    for line in failure_lines(status, list(loaded.recipe.targets), outcome.workspace):
        stderr.print(line, soft_wrap=True, markup=False, highlight=False)
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
