"""Every option of every command, given a bad value or a destination that cannot be written: exit 2
with `navctl: error: --option VALUE: what is wrong` (one line, no traceback), or exit 4 naming the path
and the OS's reason; never exit 3. Run in-process (hundreds of cases in seconds), a few for real."""

from __future__ import annotations

import errno
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from navctl.cli.main import app, main
from navctl.destinations import check_folder, unwritable, writing
from navctl.errors import EXIT_ENVIRONMENT, EXIT_USAGE
from tests.helpers import run_cli, write_project

PKG = "{tmp}/missing.nav"  # never read: every case must be refused before the package is opened
NOT_A_DIR = "cannot be written: Not a directory ({tmp}/afile is a file)"

# "command --option what": (arguments after the command, exit code, a fragment the message must hold)
CASES: dict[str, tuple[list[str], int, str]] = {
    "validate RECIPE missing": ([], 2, "missing argument 'RECIPE...'"),
    "plan --format svg": (["{recipe}", "--format", "svg"], 2, "--format svg: 'svg' is not one of"),
    # optimize
    "optimize --jobs -1": (["{recipe}", "--jobs", "-1"], 2, "--jobs -1: must be greater than or equal to 0"),
    "optimize --jobs two": (["{recipe}", "-j", "two"], 2, "--jobs two: must be a valid integer"),
    "optimize --threads -1": (["{recipe}", "--threads", "-1"], 2, "--threads -1: must be greater than or equal to 0"),
    "optimize --threads 1.5": (["{recipe}", "--threads", "1.5"], 2, "--threads 1.5: must be a valid integer"),
    "optimize --only no match": (["{recipe}", "--only", "nomatch/*"], 2, "--only nomatch/*: matches no step"),
    "optimize --only one of two misspelt": (
        ["{recipe}", "--only", "export/onnx", "--only", "export/onx"],
        2,
        "--only export/onx: matches no step; did you mean 'export/onnx'?",
    ),
    "optimize --package-formats some": (["{recipe}", "--package-formats", "some"], 2, "--package-formats some:"),
    "optimize --executor dask": (["{recipe}", "--executor", "dask"], 2, "--executor dask: 'dask' is not one of"),
    "optimize --ray-address no port": (
        ["{recipe}", "--executor", "ray", "--ray-address", "head"],
        2,
        "--ray-address head: expected auto, HOST:PORT",
    ),
    "optimize --ray-address port 99999": (
        ["{recipe}", "--executor", "ray", "--ray-address", "head:99999"],
        2,
        "--ray-address head:99999:",
    ),
    "optimize --ray-address without ray": (
        ["{recipe}", "--ray-address", "head:6379"],
        2,
        "--ray-address head:6379: applies to --executor ray only",
    ),
    "optimize --ray-resources not JSON": (
        ["{recipe}", "--executor", "ray", "--ray-resources", "{GPU: 1}"],
        2,
        "--ray-resources {GPU: 1}: not JSON",
    ),
    "optimize --ray-resources a list": (
        ["{recipe}", "--executor", "ray", "--ray-resources", "[1]"],
        2,
        "--ray-resources [1]: expected a JSON object",
    ),
    "optimize --ray-resources negative": (
        ["{recipe}", "--executor", "ray", "--ray-resources", '{"GPU": -1}'],
        2,
        "'GPU': the amount must be a number >= 0",
    ),
    "optimize --ray-resources boolean": (
        ["{recipe}", "--executor", "ray", "--ray-resources", '{"x": true}'],
        2,
        "'x': the amount must be a number >= 0",
    ),
    "optimize --ray-resources without ray": (
        ["{recipe}", "--ray-resources", '{"x": 1}'],
        2,
        "applies to --executor ray only",
    ),
    "optimize --package with --no-package": (
        ["{recipe}", "--package", "{tmp}/x.nav", "--no-package"],
        2,
        "--package {tmp}/x.nav: contradicts --no-package",
    ),
    "optimize --package a folder": (["{recipe}", "--package", "{tmp}"], 2, "is a folder; give a file name"),
    "optimize --package in a missing folder": (
        ["{recipe}", "--package", "{tmp}/nowhere/x.nav"],
        2,
        "the folder {tmp}/nowhere does not exist",
    ),
    "optimize --package inside the workspace": (
        ["{recipe}", "--package", "{tmp}/proj/ws/x.nav"],
        2,
        "must not be inside the workspace",
    ),
    "optimize --package under a file": (["{recipe}", "--package", "{tmp}/afile/x.nav"], 4, NOT_A_DIR),
    "optimize --workspace a file": (["{recipe}", "--workspace", "{tmp}/afile"], 2, "exists and is not a folder"),
    "optimize --workspace under a file": (["{recipe}", "--workspace", "{tmp}/afile/ws"], 4, NOT_A_DIR),
    "optimize --workspace under a file, two recipes": (
        ["{recipe}", "{recipe2}", "--workspace", "{tmp}/afile/zoo"],
        4,
        "cannot write their workspace or package; nothing ran",
    ),
    "optimize --package with two recipes": (
        ["{recipe}", "{recipe2}", "--package", "{tmp}/x.nav"],
        2,
        "--package names one file",
    ),
    "optimize RECIPE two sharing a workspace": (
        ["{recipe}", "{recipe3}"],
        2,
        "would share the workspace",
    ),
    # status, inspect
    "status TARGET missing": (["{tmp}/nothing"], 2, "no such workspace or package"),
    "inspect PACKAGE missing": ([PKG], 2, "missing.nav: no such file"),
    # report
    "report --out a file": ([PKG, "--out", "{tmp}/afile"], 2, "--out {tmp}/afile: exists and is not a folder"),
    "report --out under a file": ([PKG, "--out", "{tmp}/afile/report"], 4, NOT_A_DIR),
    # diff
    "diff --fail-on-regression five": ([PKG, PKG, "--fail-on-regression", "five"], 2, "--fail-on-regression five:"),
    "diff --fail-on-regression -5%": ([PKG, PKG, "--fail-on-regression", "-5%"], 2, "cannot be negative"),
    "diff --fail-on-regression nan": ([PKG, PKG, "--fail-on-regression", "nan"], 2, "must be finite"),
    "diff --compare median": ([PKG, PKG, "--compare", "median"], 2, "--compare median: 'median' is not one of"),
    # schema
    "schema --out a file": (["--out", "{tmp}/afile"], 2, "--out {tmp}/afile: exists and is not a folder"),
    "schema --out under a file": (["--out", "{tmp}/afile/schemas"], 4, NOT_A_DIR),
}

# The options triton, serve and loadtest share: each command gets every case.
SERVING: dict[str, tuple[list[str], str]] = {
    "--strategy fastest": (["--strategy", "fastest"], "--strategy fastest: not one of max-throughput"),
    "--format no runner": (["--format", "onnx"], "--format onnx: expected FORMAT@RUNNER"),
    "--format unknown format": (["--format", "onx@onnxruntime-cpu"], "unknown format 'onx'; did you mean 'onnx'?"),
    "--format unknown runner": (["--format", "onnx@onnxrt-cpu"], "unknown runner 'onnxrt-cpu'"),
    "--max-batch-size 0": (["--max-batch-size", "0"], "--max-batch-size 0: must be greater than or equal to 1"),
    "--preferred-batch-size 0": (["--preferred-batch-size", "0"], "--preferred-batch-size 0: must be greater"),
    "--preferred-batch-size above max": (
        ["--preferred-batch-size", "8", "--max-batch-size", "4"],
        "--preferred-batch-size 8: above --max-batch-size 4",
    ),
    "--preferred-batch-size without dynamic batching": (
        ["--preferred-batch-size", "2", "--no-dynamic-batching"],
        "--preferred-batch-size 2: applies to dynamic batching",
    ),
    "--max-queue-delay-us -1": (["--max-queue-delay-us", "-1"], "--max-queue-delay-us -1: must be greater than or"),
    "--instances 0": (["--instances", "0"], "--instances 0: must be greater than or equal to 1"),
}
for command in ("triton", "serve", "loadtest"):
    for what, (args, fragment) in SERVING.items():
        repo = ["--repo", "{tmp}/repo"] if command == "triton" else []
        CASES[f"{command} {what}"] = ([PKG, *repo, *args], 2, fragment)
for what, (args, fragment) in {
    "--name a/b": (["--name", "a/b"], "--name a/b:"),
    "--name ..": (["--name", ".."], "--name ..:"),
}.items():
    CASES[f"triton {what}"] = ([PKG, "--repo", "{tmp}/repo", *args], 2, fragment)
    CASES[f"serve {what}"] = ([PKG, *args], 2, fragment)

CASES.update(
    {
        "triton --repo missing": ([PKG], 2, "missing option '--repo'"),
        "triton --repo a file": ([PKG, "--repo", "{tmp}/afile"], 2, "--repo {tmp}/afile: exists and is not a folder"),
        "triton --repo under a file": ([PKG, "--repo", "{tmp}/afile/repo"], 4, NOT_A_DIR),
        "triton --kind tpu": ([PKG, "--repo", "{tmp}/repo", "--kind", "tpu"], 2, "--kind tpu:"),
        "triton --accelerator cuda": ([PKG, "--repo", "{tmp}/repo", "--accelerator", "cuda"], 2, "--accelerator cuda:"),
        "serve --http-port 0": ([PKG, "--http-port", "0"], 2, "--http-port 0: must be greater than or equal to 1"),
        "serve --http-port 70000": ([PKG, "--http-port", "70000"], 2, "--http-port 70000: must be less than or equal"),
        "serve --http-port http": ([PKG, "--http-port", "http"], 2, "--http-port http: must be a valid integer"),
        "serve --grpc-port 65536": ([PKG, "--grpc-port", "65536"], 2, "--grpc-port 65536: must be less than"),
        "serve --metrics-port -1": ([PKG, "--metrics-port", "-1"], 2, "--metrics-port -1: must be greater"),
        "serve --grpc-port same as http": ([PKG, "--grpc-port", "8000"], 2, "--grpc-port 8000: --http-port is already"),
        "serve --metrics-port same as grpc": ([PKG, "--metrics-port", "8001"], 2, "--metrics-port 8001: --grpc-port"),
        "serve --address 999.1.1.1": ([PKG, "--address", "999.1.1.1"], 2, "--address 999.1.1.1: not an IP address"),
        "serve --address with a space": ([PKG, "--address", "my host"], 2, "--address my host: not an IP address"),
        "serve --log-file a folder": ([PKG, "--log-file", "{tmp}"], 2, "--log-file {tmp}: is a folder"),
        "serve --log-file under a file": ([PKG, "--log-file", "{tmp}/afile/triton.log"], 4, NOT_A_DIR),
        "loadtest --concurrency abc": ([PKG, "--concurrency", "abc"], 2, "--concurrency abc: expected whole numbers"),
        "loadtest --concurrency 0": ([PKG, "--concurrency", "0,1"], 2, "--concurrency 0,1: 0 is not above 0"),
        "loadtest --concurrency 1.5": ([PKG, "--concurrency", "1.5"], 2, "--concurrency 1.5: 1.5 is not a whole"),
        "loadtest --concurrency -4": ([PKG, "--concurrency=-4"], 2, "--concurrency -4: -4 is not above 0"),
        "loadtest --concurrency twice": ([PKG, "--concurrency", "1,2,2"], 2, "2 is listed twice"),
        "loadtest --concurrency empty": ([PKG, "--concurrency", ","], 2, "--concurrency ,: expected whole numbers"),
        "loadtest --concurrency huge range": ([PKG, "--concurrency", "1:1e9:1"], 2, "at most 1000 are measured"),
        "loadtest --request-rate end below start": ([PKG, "--request-rate", "100:50:10"], 2, "0 < START <= END"),
        "loadtest --request-rate step 0": ([PKG, "--request-rate", "1:2:0"], 2, "--request-rate 1:2:0: a range"),
        "loadtest --request-rate four parts": ([PKG, "--request-rate", "1:2:3:4"], 2, "START:END or START:END:STEP"),
        "loadtest --request-rate nan": ([PKG, "--request-rate", "nan"], 2, "--request-rate nan: nan is not a number"),
        "loadtest --request-rate inf": ([PKG, "--request-rate", "inf"], 2, "--request-rate inf: inf is not a number"),
        "loadtest --request-rate 0": ([PKG, "--request-rate", "0"], 2, "--request-rate 0: 0 is not above 0"),
        "loadtest --latency-budget -3ms": ([PKG, "--latency-budget", "-3ms"], 2, "--latency-budget -3ms:"),
        "loadtest --latency-budget 0ms": ([PKG, "--latency-budget", "0ms"], 2, "a duration must be positive"),
        "loadtest --duration 0s": ([PKG, "--duration", "0s"], 2, "--duration 0s: a duration must be positive"),
        "loadtest --duration soon": ([PKG, "--duration", "soon"], 2, "--duration soon: 'soon' is not a duration"),
        "loadtest --batch 0": ([PKG, "--batch", "0"], 2, "--batch 0: must be greater than or equal to 1"),
        "loadtest --batch above max": ([PKG, "--batch", "8", "--max-batch-size", "4"], 2, "--batch 8: above"),
        "loadtest --shape bogus": ([PKG, "--shape", "bogus"], 2, "--shape bogus: write typical, min, max"),
        "loadtest --shape zero dim": ([PKG, "--shape", "x:0x8"], 2, "--shape x:0x8: write typical"),
        "loadtest --protocol ftp": ([PKG, "--protocol", "ftp"], 2, "--protocol ftp:"),
        "loadtest --driver wrk": ([PKG, "--driver", "wrk"], 2, "--driver wrk:"),
        "loadtest --tune-budget 0s": ([PKG, "--tune", "--tune-budget", "0s"], 2, "--tune-budget 0s: a duration must"),
        "loadtest --tune-budget without --tune": ([PKG, "--tune-budget", "60s"], 2, "--tune-budget 60s: applies to"),
        "loadtest --tune-delays abc": ([PKG, "--tune", "--tune-delays", "abc"], 2, "--tune-delays abc: expected whole"),
        "loadtest --tune-delays -5": ([PKG, "--tune", "--tune-delays", "-5"], 2, "-5 is not at least 0"),
        "loadtest --tune-delays 2.5": ([PKG, "--tune", "--tune-delays", "0,2.5"], 2, "2.5 is not a whole number"),
        "loadtest --tune-delays without --tune": ([PKG, "--tune-delays", "0,100"], 2, "applies to --tune"),
        "loadtest --tune-instances 0": ([PKG, "--tune", "--tune-instances", "0,1"], 2, "0 is not above 0"),
        "loadtest --tune-instances abc": ([PKG, "--tune", "--tune-instances", "a"], 2, "--tune-instances a: expected"),
        "loadtest --tune-instances without --tune": ([PKG, "--tune-instances", "2"], 2, "applies to --tune"),
    }
)

# Options with no value to get wrong: flags, and the hidden one loadtest passes its own server.
UNSWEPT = {"--help", "--version", "--null-model"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A recipe, a second one elsewhere, a third beside the first with the same `workspace: ws`, and a
    regular file to put paths under."""
    tmp = tmp_path_factory.mktemp("options")
    recipe = write_project(tmp / "proj")
    (recipe.parent / "third.yaml").write_text(recipe.read_text().replace("name: tiny", "name: third"))
    write_project(tmp / "other", name="other")
    (tmp / "afile").write_text("a regular file\n")
    return tmp


def _argv(case: str, folder: Path) -> list[str]:
    args, _, _ = CASES[case]
    names = {
        "tmp": str(folder),
        "recipe": str(folder / "proj" / "recipe.yaml"),
        "recipe2": str(folder / "other" / "recipe.yaml"),
        "recipe3": str(folder / "proj" / "third.yaml"),
    }
    return [case.split()[0], *(_fill(a, names) for a in args)]


def _fill(text: str, names: dict[str, str]) -> str:
    for name, value in names.items():
        text = text.replace("{" + name + "}", value)
    return text


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_option_is_one_line_and_its_exit_code(case: str, folder: Path, capsys) -> None:
    _, code, fragment = CASES[case]
    before = _listing(folder)
    result = main(_argv(case, folder))
    err = capsys.readouterr().err
    assert result == code, err
    assert _fill(fragment, {"tmp": str(folder)}) in err, err
    lines = err.splitlines()
    assert lines[0].startswith("navctl: error: "), err
    assert all(line.startswith(("navctl: error: ", "hint: ", "  ")) for line in lines), err
    assert sum(line.startswith("navctl: error: ") for line in lines) == 1 or "nothing ran" in err, err
    assert "Traceback" not in err and "internal error" not in err
    assert _listing(folder) == before  # refused before anything was written


def _swept() -> dict[str, set[str]]:
    swept: dict[str, set[str]] = {}
    for case in CASES:
        command, option = case.split()[:2]
        swept.setdefault(command, set()).add(option)
    return swept


def test_every_option_of_every_command_is_swept() -> None:
    """A new option without a bad-value case here fails this test."""
    group = typer.main.get_command(app)
    swept = _swept()
    missing = []
    options = 0
    for name, command in group.commands.items():
        for param in command.params:
            if param.param_type_name != "option" or param.is_flag or set(param.opts) & UNSWEPT:
                continue
            options += 1
            if not set(param.opts) & swept.get(name, set()):
                missing.append(f"{name} {param.opts[0]}")
    assert not missing, missing
    assert set(swept) == set(group.commands)
    print(f"\n{len(group.commands)} commands, {options} options with values, {len(CASES)} bad values swept")


def test_erofs_and_no_space_map_to_exit_4_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    """A read-only file system cannot be mounted by every test runner: the mapping, in-process."""
    import navctl.destinations as destinations

    def read_only(folder: Path) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(folder))

    monkeypatch.setattr(destinations, "_probe", read_only)
    with pytest.raises(destinations.Unwritable) as caught:
        check_folder(tmp_path / "ws", "workspace")
    assert caught.value.exit_code == EXIT_ENVIRONMENT
    assert caught.value.message == f"workspace {tmp_path / 'ws'}: cannot be written: Read-only file system"
    assert "writable file system" in (caught.value.hint or "")
    monkeypatch.undo()
    with pytest.raises(destinations.Unwritable, match="No space left on device"), writing(tmp_path, "--out"):
        raise OSError(errno.ENOSPC, "No space left on device")
    with pytest.raises(FileNotFoundError), writing(tmp_path, "--out"):  # not a destination's fault: a bug
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")
    assert unwritable("--out", tmp_path, PermissionError(errno.EACCES, "Permission denied")).exit_code == 4


def test_a_few_for_real_show_no_traceback(folder: Path) -> None:
    for argv, code in (
        (["loadtest", str(folder / "x.nav"), "--tune", "--tune-delays", "abc"], EXIT_USAGE),
        (["serve", str(folder / "x.nav"), "--http-port", "70000"], EXIT_USAGE),
        (["schema", "--out", str(folder / "afile" / "schemas")], EXIT_ENVIRONMENT),
        (["optimize", str(folder / "proj" / "recipe.yaml"), "--bogus"], EXIT_USAGE),
    ):
        result = run_cli(*argv)
        assert result.returncode == code, result.stderr
        assert result.stderr.startswith("navctl: error: ") and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) <= 2, result.stderr


def _read_only_mount_works() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt && ! touch /mnt/x"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs `unshare -rm` and a tmpfs mount (Linux namespaces)")
def test_read_only_destinations_exit_4_before_any_step(tmp_path: Path) -> None:
    """For real, in a private mount namespace: a read-only file system under the workspace, over an
    existing workspace, and under the package. Each ends exit 4 before the first step (no steps/)."""
    recipe = write_project(tmp_path / "proj")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    existing = recipe.parent / "ws"
    (existing / "steps").mkdir(parents=True)  # a workspace of an earlier run
    mounts = {
        "tmpfs": f"mount -t tmpfs -o ro tmpfs {read_only}",
        "bind": f"mount --bind {existing} {existing} && mount -o remount,ro,bind {existing}",
    }
    cases = [
        ("tmpfs", ["--workspace", str(read_only / "ws")], f"workspace {read_only / 'ws'}: cannot be written"),
        ("bind", [], f"workspace {existing}: cannot be written"),
        ("tmpfs", ["--workspace", str(tmp_path / "ws2"), "--package", str(read_only / "x.nav")], "package"),
    ]
    for mount, extra, fragment in cases:
        command = " ".join(["exec", sys.executable, "-m", "navctl", "optimize", str(recipe), *extra])
        result = subprocess.run(
            ["unshare", "-rm", "sh", "-c", f"{mounts[mount]} && {command}"], capture_output=True, text=True, timeout=300
        )
        assert result.returncode == EXIT_ENVIRONMENT, result.stderr
        assert fragment in result.stderr and "Read-only file system" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert not (tmp_path / "ws2").exists()  # the package's folder was found read-only before the workspace was made
    assert sorted(p.name for p in existing.iterdir()) == ["steps"] and not any((existing / "steps").iterdir())
