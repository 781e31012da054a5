"""navctl's commands, one module each; `COMMANDS` is the one list the app is assembled from, in the
order `--help` lists them. A command parses its options, makes one call into navctl, and shows the
result; it imports frameworks only inside its body, so `validate`, `plan`, `status` stay light."""

from __future__ import annotations

from collections.abc import Callable

from navctl.cli.commands.diff import diff
from navctl.cli.commands.inspect import inspect
from navctl.cli.commands.loadtest import loadtest
from navctl.cli.commands.optimize import optimize
from navctl.cli.commands.plan import plan
from navctl.cli.commands.report import report
from navctl.cli.commands.schema import schema
from navctl.cli.commands.serve import serve
from navctl.cli.commands.status import status
from navctl.cli.commands.triton import triton
from navctl.cli.commands.validate import validate

COMMANDS: list[Callable[..., object]] = [
    validate,
    plan,
    optimize,
    status,
    inspect,
    report,
    diff,
    triton,
    serve,
    loadtest,
    schema,
]
