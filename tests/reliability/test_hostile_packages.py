"""Packages are untrusted input: crafted bad archives are refused with exit 2, nothing written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from navctl.cli.main import main

STATUS = """\
schema_version: 1
tool: {name: navctl, version: 0.1.0}
recipe: {path: r.yaml, sha256: x, name: r}
environment: {python: '3.11', platform: linux, cpu: x, threads: 1}
run: {started_at: '2026-01-01T00:00:00+00:00'}
"""


def _zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "/etc/passwd")
    return path


CASES = {
    "zip slip": ({"status.yaml": STATUS.encode(), "../evil.txt": b"x"}, None, "unsafe entry"),
    "absolute path": ({"status.yaml": STATUS.encode(), "/tmp/evil.txt": b"x"}, None, "unsafe entry"),
    "symlink": ({"status.yaml": STATUS.encode()}, "link", "symbolic link"),
    "zip bomb": ({"status.yaml": STATUS.encode(), "big.bin": b"\0" * (64 << 20)}, None, "zip bomb"),
    "no status": ({"other.txt": b"x"}, None, "no status.yaml inside"),
    "invalid status": ({"status.yaml": b"schema_version: 1\ntool: [\n"}, None, "not valid YAML"),
    "wrong schema": ({"status.yaml": b"schema_version: 99\n"}, None, "schema_version 99"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["status", "inspect"])
def test_hostile_packages_are_refused(case: str, command: str, tmp_path: Path, capsys) -> None:
    entries, link, fragment = CASES[case]
    package = _zip(tmp_path / "bad.nav", entries, link)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main([command, str(package)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path.parent / "evil.txt").exists()


def test_truncated_and_garbage_packages(tmp_path: Path, capsys) -> None:
    good = _zip(tmp_path / "good.nav", {"status.yaml": STATUS.encode(), "x.bin": bytes(range(256)) * 100})
    truncated = tmp_path / "truncated.nav"
    truncated.write_bytes(good.read_bytes()[:300])
    garbage = tmp_path / "garbage.nav"
    garbage.write_bytes(b"not a zip at all")
    for package in (truncated, garbage):
        code = main(["status", str(package)])
        err = capsys.readouterr().err
        assert code == 2 and "not a readable .nav package" in err, err
    assert main(["status", str(good)]) == 0
