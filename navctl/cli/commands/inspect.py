"""`navctl inspect`: what a package holds."""

from __future__ import annotations

from navctl.cli.options import JsonOpt, PackageArg
from navctl.cli.output import print_json, stdout


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
