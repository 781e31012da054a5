"""Checks across fields report alongside the type errors, but never a knock-on of a value that failed its
own validation (already reported at its own line)."""

from __future__ import annotations

from pathlib import Path

from navctl.cli.main import main
from tests.reliability.test_bad_recipes import GOOD  # a valid recipe of 7 lines, the extra fields after it


def _validate(tmp_path: Path, capsys, extra: str) -> tuple[int, list[str]]:
    (tmp_path / "model.py").write_text("def build(): pass\ndef samples(): return []\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(GOOD + extra)
    code = main(["validate", str(recipe)])
    return code, [line.removeprefix(f"{recipe}:") for line in capsys.readouterr().err.splitlines()]


def test_a_maximum_that_failed_its_own_check_is_not_compared_with(tmp_path: Path, capsys) -> None:
    code, err = _validate(tmp_path, capsys, "batching: {max_batch_size: -3}\nprofiling: {batch_sizes: [0, 2.5, 8]}\n")
    assert code == 2
    assert err == [
        "8:28: batching.max_batch_size: input should be greater than 0",
        "9:27: profiling.batch_sizes[0]: input should be greater than 0",
        "9:30: profiling.batch_sizes[1]: input should be a valid integer, got a number with a fractional part",
        " 3 problems; nothing was run",
    ]


def test_the_valid_entries_of_a_list_are_still_compared(tmp_path: Path, capsys) -> None:
    code, err = _validate(tmp_path, capsys, "batching: {max_batch_size: 4}\nprofiling: {batch_sizes: [8, 0]}\n")
    assert code == 2
    assert err == [
        "9:26: profiling.batch_sizes: [8] exceed batching.max_batch_size (4)",
        "9:30: profiling.batch_sizes[1]: input should be greater than 0",
        " 2 problems; nothing was run",
    ]


def test_a_switch_that_failed_its_own_check_does_not_turn_a_comparison_on(tmp_path: Path, capsys) -> None:
    code, err = _validate(
        tmp_path, capsys, "batching: {enabled: maybe, max_batch_size: 4}\nprofiling: {batch_sizes: [8]}\n"
    )
    assert code == 2
    assert err == [
        "8:21: batching.enabled: input should be a valid boolean, unable to interpret input",
        " 1 problem; nothing was run",
    ]


def test_the_cross_checks_still_run_when_their_fields_are_valid(tmp_path: Path, capsys) -> None:
    code, err = _validate(
        tmp_path, capsys, "threads: two\nbatching: {max_batch_size: 4}\nprofiling: {batch_sizes: [8]}\n"
    )
    assert code == 2
    assert err == [
        "8:10: threads: input should be a valid integer, unable to parse string as an integer",
        "10:26: profiling.batch_sizes: [8] exceed batching.max_batch_size (4)",
        " 2 problems; nothing was run",
    ]
