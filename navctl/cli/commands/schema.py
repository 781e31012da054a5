"""`navctl schema`: the JSON Schemas of recipes and status.yaml."""

from __future__ import annotations

from pathlib import Path

import typer

from navctl.cli.output import stdout
from navctl.destinations import check_folder, writing


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
