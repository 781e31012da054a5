"""Load-test results kept in the package, and read back by `navctl triton --from-loadtest`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from navctl.destinations import Unwritable, check_file, writing
from navctl.errors import UsageError
from navctl.records.loadtest import LoadtestInfo
from navctl.triton.merging import Serving

NO_RECORD_HINT = (
    "the load test writes its results into the package: --no-record skips that, "
    "or copy the package to a folder you may write"
)


def check_recordable(package_path: Path) -> None:
    """Exit 4 before any load when the results could not go into the package (it is rewritten beside
    itself and renamed, so its folder must take a write): found after the whole run, it lost the run."""
    if not package_path.is_file():
        return  # missing, or a folder: reading the package says so, exit 2
    try:
        check_file(package_path, "package", "model.nav")
    except Unwritable as exc:
        exc.hint = NO_RECORD_HINT
        raise


def record(package_path: Path, info: LoadtestInfo) -> None:
    """Keep the results in the package, where `navctl status`, `report` and `diff` read them."""
    from navctl.package import read_package_status, replace_package_status

    status = read_package_status(package_path)
    status.loadtest = info
    try:
        with writing(package_path, "package"):  # a folder that turned read-only, or a full disk, since the check
            replace_package_status(package_path, status)
    except Unwritable as exc:
        exc.hint = NO_RECORD_HINT
        raise


def apply_loadtest(package: Path, serving: Serving, say: Callable[[str], None]) -> None:
    """The format and best batching `navctl loadtest` found, in place of `navctl triton`'s (a max batch
    size the load test left to the default stays the one given)."""
    from navctl.package import read_package_status

    found = read_package_status(package).loadtest
    if found is None or found.best is None:
        raise UsageError(
            f"{package} holds no load-test results", hint=f"navctl loadtest {package} --tune, then rerun this"
        )
    if serving.key is not None and serving.key != found.key:
        raise UsageError(f"the load test served {found.key}, not {serving.key}; drop --format or rerun the load test")
    best = found.best
    serving.key = found.key
    serving.merging_asked = best.dynamic_batching
    serving.batching = best.model_copy(
        update={"max_batch_size": best.max_batch_size or serving.batching.max_batch_size}
    )
    say(f"batching from the load test of {found.key}: {best.describe()}")
