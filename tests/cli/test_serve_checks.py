"""What `navctl serve` checks before it announces or starts Triton, in-process: nothing is started."""

from __future__ import annotations

from pathlib import Path

from navctl.cli.main import main


def test_a_missing_package_is_said_before_the_server_is_announced(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.nav"
    assert main(["serve", str(missing), "--log-file", str(tmp_path / "triton.log")]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"navctl: error: {missing}: no such file\n"
    assert captured.out == ""
