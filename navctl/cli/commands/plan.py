"""`navctl plan`: the steps `optimize` would run."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from navctl.cli.options import PlanFormat
from navctl.cli.output import stdout
from navctl.errors import UsageError


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
