"""`navctl status`: formats x runners with their states and figures."""

from __future__ import annotations

from pathlib import Path

import typer

from navctl.cli.options import JsonOpt
from navctl.cli.output import print_json, stdout
from navctl.cli.targets import default_workspace, load_status


def status(
    target: Path | None = typer.Argument(
        None, help="A workspace folder or a .nav package (default: ./navigator_workspace).", metavar="WORKSPACE|PACKAGE"
    ),
    json_out: JsonOpt = False,
) -> None:
    """Show formats x runners with their states and figures, from a workspace or a package."""
    from navctl.report.console import results_table, selection_lines, steps_table
    from navctl.report.notes import run_notes

    where = target if target is not None else default_workspace()
    st = load_status(where)
    if json_out:
        print_json(st.model_dump(mode="json"))
        return
    stdout.print(steps_table(st, include_unavailable=False))
    if st.run.state == "running" and where.is_dir():
        from navctl.engine.workspace import run_is_gone

        if run_is_gone(where):  # killed before it could record its end: its running steps never finish
            stdout.print(
                "the run that wrote this status is no longer running (killed before it finished): steps shown "
                "as running did not finish; rerun the recipe to resume (finished steps are reused)"
            )
    stdout.print(results_table(st, width=stdout.width))
    for note in run_notes(st):
        stdout.print(note)
    for line in selection_lines(st):
        stdout.print(f"selected for {line}")
    if st.loadtest is not None:
        from navctl.loadtest.generation_run import generation_table
        from navctl.report.tables import loadtest_table

        stdout.print(f"load test: {st.loadtest.answer}")
        info = st.loadtest
        stdout.print(generation_table(info) if getattr(info, "generation", None) else loadtest_table(info))
    unavailable = sum(1 for s in st.steps.values() if s.state == "unavailable")
    if unavailable:
        stdout.print(f"({unavailable} steps unavailable on the machine that ran it; --json lists them)")
