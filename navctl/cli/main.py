"""The navctl command line, assembled from `navctl.cli.commands.COMMANDS` (one module per command).

`main(argv) -> int` holds the only map from errors to exit codes. Frameworks are never imported
here: `validate`, `plan`, `status` and `inspect` start in a fraction of a second.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

import typer

from navctl import __version__
from navctl.cli.commands import COMMANDS
from navctl.cli.output import (
    CLICK_USAGE_ERROR,
    FastExit,
    protect_streams,
    report_error,
    report_usage_error,
    stdout,
)
from navctl.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, NavctlError

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


for _command in COMMANDS:
    app.command()(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; its exit code."""
    outcome = invoke(argv)
    return outcome.code if isinstance(outcome, FastExit) else outcome


def invoke(argv: list[str] | None = None) -> int | FastExit:
    """Run the CLI: the one place where errors become exit codes. A command's FastExit comes back as
    it is, for `run` to exit without the interpreter's teardown."""
    try:
        # Not standalone: Typer's own usage errors come back here, to be shown in navctl's format; an
        # explicit exit (typer.Exit, --help, --version) comes back as its code, a command's return as it is.
        result = app(args=argv, prog_name="navctl", standalone_mode=False)
        return result if isinstance(result, int | FastExit) else 0
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


def run() -> None:
    protect_streams()
    outcome = invoke()
    if isinstance(outcome, FastExit):
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(outcome.code)
    sys.exit(outcome)
