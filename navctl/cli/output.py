"""The single output sink: results on stdout, people's text on stderr, errors formatted once."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console

from navctl.errors import NavctlError, RecipeError


def _console(stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = 160  # logs and pipes: do not crop step ids and reasons at 80 columns
    return console


stdout = _console(stderr=False)
stderr = _console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def report_error(error: NavctlError) -> None:
    """One line per problem (recipe errors carry file:line:col), plus a hint; never a traceback."""
    if isinstance(error, RecipeError):
        for problem in error.problems:
            sys.stderr.write(problem.render(error.path) + "\n")
            if in_github_actions():
                where = f"file={error.path}"
                if problem.line:
                    where += f",line={problem.line},col={problem.col}"
                field = f"{problem.field}: " if problem.field else ""
                sys.stderr.write(f"::error {where}::{field}{problem.message}\n")
        count = len(error.problems)
        sys.stderr.write(f"{error.path}: {count} problem{'s' if count != 1 else ''}; nothing was run\n")
    else:
        sys.stderr.write(f"navctl: error: {error.message}\n")
    if error.hint:
        sys.stderr.write(f"hint: {error.hint}\n")
    sys.stderr.flush()
