"""One error family for navctl; each error carries the exit code the CLI returns for it."""

from __future__ import annotations

import difflib

EXIT_OK = 0
EXIT_FORMATS_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_ENVIRONMENT = 4
EXIT_INTERRUPTED = 130


def suggest(word: str, options: list[str]) -> str:
    """ "; did you mean 'x'?" for the closest of `options`, or '' when none is close: every message that
    names something unknown (a recipe key, a format, an option value) offers the same hint."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class NavctlError(Exception):
    """Base class: a known problem with a message meant for the user."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(NavctlError):
    """Bad command-line usage or a bad file given by the user."""

    exit_code = EXIT_USAGE


class RecipeError(UsageError):
    """A recipe that does not validate; holds every problem found, each with its position."""

    def __init__(self, path: str, problems: list[RecipeProblem], outcome: str = "nothing was run") -> None:
        self.path = path
        self.problems = problems
        self.outcome = outcome
        super().__init__("\n".join(p.render(path) for p in problems))


class RecipeProblem:
    """One problem in a recipe file, with the position it points at (1-based; 0 when unknown)."""

    def __init__(self, message: str, line: int = 0, col: int = 0, field: str = "") -> None:
        self.message = message
        self.line = line
        self.col = col
        self.field = field

    def render(self, path: str) -> str:
        where = f"{path}:{self.line}:{self.col}" if self.line else path
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"

    def __repr__(self) -> str:
        return f"RecipeProblem({self.line}:{self.col} {self.field}: {self.message})"


class PackageError(UsageError):
    """A .nav package that is missing, corrupt or unsafe to unpack."""


class EnvironmentProblem(NavctlError):
    """The environment cannot run what was asked: a locked workspace, no CUDA for device: cuda."""

    exit_code = EXIT_ENVIRONMENT


class WorkspaceLocked(EnvironmentProblem):
    """Another navctl run holds the workspace."""
