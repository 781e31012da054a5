"""The single output sink: results on stdout, people's text on stderr, errors formatted once."""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import typer

from navctl.errors import EXIT_USAGE, NavctlError, RecipeError


class PipeSafeStream:
    """A text stream that turns a closed reader (EPIPE, e.g. `navctl optimize ... | head`) into silence.

    What navctl prints must never change what it runs or records: once the reader is gone, further
    output is dropped and the file descriptor is pointed at /dev/null, so neither a later write nor
    the interpreter's final flush raises.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.broken = False

    def _silence(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except (BrokenPipeError, ConnectionResetError, ValueError):
                self._silence()
            except OSError as exc:
                if exc.errno not in (errno.EPIPE, errno.EIO):
                    raise
                self._silence()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._silence()

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, ... of the real stream
        return getattr(self._stream, name)


def protect_streams() -> None:
    """Wrap sys.stdout and sys.stderr once (the CLI's entry point calls this)."""
    if not isinstance(sys.stdout, PipeSafeStream):
        sys.stdout = PipeSafeStream(sys.stdout)
    if not isinstance(sys.stderr, PipeSafeStream):
        sys.stderr = PipeSafeStream(sys.stderr)


class LazyConsole:
    """A Rich console made on first use: importing Rich costs about 50 ms, more than `navctl validate`
    needs for everything else it does, and validate, plan and status print plain lines."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    def _get(self) -> Any:
        if self._console is None:
            from rich.console import Console

            # markup off: names, shapes ([batch, seq]) and reasons would be read as style tags and vanish
            console = Console(stderr=self._stderr, highlight=False, markup=False)
            if not console.is_terminal and "COLUMNS" not in os.environ:
                console.width = 160  # logs and pipes: do not crop step ids and reasons at 80 columns
            self._console = console
        return self._console

    def line(self, text: str) -> None:
        """Plain text, no markup: without Rich."""
        stream = sys.stderr if self._stderr else sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


stdout = LazyConsole(stderr=False)
stderr = LazyConsole(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def report_error(error: NavctlError) -> None:
    """One line per problem (recipe errors carry file:line:col), plus a hint; never a traceback."""
    nested = getattr(error, "errors", None)  # several recipes' errors, reported together
    if nested:
        for each in nested:
            report_error(each)
        sys.stderr.write(f"navctl: error: {error.message}\n")
        sys.stderr.flush()
        return
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
        sys.stderr.write(f"{error.path}: {count} problem{'s' if count != 1 else ''}; {error.outcome}\n")
    else:
        sys.stderr.write(f"navctl: error: {error.message}\n")
    if error.hint:
        sys.stderr.write(f"hint: {error.hint}\n")
    sys.stderr.flush()


# Click's UsageError as this Typer knows it: Typer 0.2x vendors Click (typer._click), older ones use it.
CLICK_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def report_usage_error(error: Exception) -> int:
    """Typer's own usage errors (an unknown option, a value of the wrong type or out of its range) in
    navctl's one format: `navctl: error: --option VALUE: what is wrong`, then a hint; returns 2."""
    ctx = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError" and ctx is not None:  # bare `navctl`: the help, as Typer does
        sys.stdout.write(ctx.get_help() + "\n")
        return EXIT_USAGE
    message = str(getattr(error, "message", "")).rstrip(".")
    param = getattr(error, "param", None)
    if message and param is not None and isinstance(error, typer.BadParameter):
        # Pydantic's wording, as Typer passes it on: "Value error, ..." / "Input should be ..."
        message = message.removeprefix("Value error, ").replace("Input should be", "must be", 1)
        name = (param.opts or [param.human_readable_name])[0]
        value = _typed_value(error)
        message = f"{name} {value}: {message}" if value is not None else f"{name}: {message}"
    else:
        message = error.format_message().rstrip(".")  # type: ignore[attr-defined]
        message = message[:1].lower() + message[1:]
    sys.stderr.write(f"navctl: error: {message}\n")
    if ctx is not None:
        sys.stderr.write(f"hint: see {ctx.command_path} --help\n")
    sys.stderr.flush()
    return EXIT_USAGE


def _typed_value(error: Exception) -> object | None:
    """The value the user typed, where Typer kept it (its Pydantic validation error's input)."""
    cause = error.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        try:
            found = errors()
        except Exception:  # noqa: BLE001 - only decoration of the message
            return None
        if found and isinstance(found[0].get("input"), str | int | float):
            return found[0]["input"]
    return None


@dataclass(frozen=True)
class FastExit:
    """What a command returns when the process should exit with `code` without the interpreter's
    teardown: everything it opened is closed, and the frameworks it loaded would only spend time
    unloading (navctl.cli.main.run flushes the streams and calls os._exit)."""

    code: int = 0
