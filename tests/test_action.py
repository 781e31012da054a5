"""The GitHub Action (action.yml) and the example workflows: actionlint, and a run of the action's own
shell steps the way a runner runs them, against a real tiny navctl run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from navctl.status import dump_status, parse_status
from tests.helpers import REPO, SEGFAULT, write_project

WORKFLOWS = sorted((REPO / "docs" / "workflows").glob("navctl-*.yml"))
ACTIONLINT_CONFIG = REPO / "docs" / "workflows" / "actionlint.yaml"
OUR_ACTION = "your-org/navctl@v1"


def _workflows() -> dict[str, str]:
    """The example workflows, and the one the README's GitHub Actions section shows."""
    found = {w.name: w.read_text() for w in WORKFLOWS}
    readme = (REPO / "README.md").read_text().split("## GitHub Actions", 1)[1]
    found["readme.yml"] = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    return found


def _actionlint() -> str:
    found = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("actionlint is not installed (the dev extra installs it: pip install -e '.[dev]')")
    return found


def _lint_copy(tmp_path: Path, edit=None) -> subprocess.CompletedProcess:
    """actionlint over a repository holding action.yml and the example workflows, which use the action as
    `./` so that actionlint checks their inputs against action.yml (and action.yml itself)."""
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(REPO / "action.yml", repo / "action.yml")
    for name, text in _workflows().items():
        (repo / ".github" / "workflows" / name).write_text(text.replace(OUR_ACTION, "./"))
    if edit:
        edit(repo)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    files = sorted(str(p) for p in (repo / ".github" / "workflows").iterdir())
    return subprocess.run(
        [_actionlint(), "-config-file", str(ACTIONLINT_CONFIG), "-no-color", *files],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_action_and_the_example_workflows_pass_actionlint(tmp_path: Path) -> None:
    assert len(WORKFLOWS) == 2 and all(OUR_ACTION in text for text in _workflows().values())
    result = _lint_copy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow_and_a_broken_action(tmp_path: Path) -> None:
    def misspell_an_input(repo: Path) -> None:
        gate = repo / ".github" / "workflows" / "navctl-pr-gate.yml"
        gate.write_text(gate.read_text().replace("regression-threshold:", "regresion-threshold:"))

    result = _lint_copy(tmp_path / "a", misspell_an_input)
    assert result.returncode == 1 and 'input "regresion-threshold" is not defined' in result.stdout

    def drop_a_shell(repo: Path) -> None:
        action = repo / "action.yml"
        action.write_text(action.read_text().replace("      shell: bash\n", "", 1))

    result = _lint_copy(tmp_path / "b", drop_a_shell)
    assert result.returncode == 1 and 'requires "shell" key' in result.stdout


# ----- a runner, as far as a composite action's steps need one --------------------------------------
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _read_outputs(path: Path) -> dict[str, str]:
    """A step's $GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks."""
    values: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        values[name] = value
        i += 1
    return values


class ActionRun:
    """Runs action.yml's steps in order: `run:` steps with bash as GitHub does (`bash --noprofile --norc
    -eo pipefail`, a fresh $GITHUB_OUTPUT per step, the step summary, GITHUB_ACTIONS=true), `uses:` steps
    recorded with their evaluated inputs (setup-python, upload-artifact: GitHub's own)."""

    def __init__(self, workspace: Path, inputs: dict[str, str]) -> None:
        self.action = yaml.safe_load((REPO / "action.yml").read_text())
        defaults = {k: str(v.get("default", "")) for k, v in self.action["inputs"].items()}
        unknown = set(inputs) - set(defaults)
        assert not unknown, f"not inputs of action.yml: {unknown}"
        self.inputs = {**defaults, **inputs}
        self.workspace = workspace
        self.outputs: dict[str, dict[str, str]] = {}
        self.summary = workspace.parent / "step_summary.md"
        self.log: list[tuple[str, str]] = []  # (step name, its stdout + stderr)
        self.used: list[tuple[str, dict[str, str]]] = []
        self.failed: tuple[str, int] | None = None

    def value(self, expr: str) -> str:
        if expr.startswith("'") and expr.endswith("'"):
            return expr[1:-1]
        parts = expr.split(".")
        if parts[0] == "inputs":
            return self.inputs[parts[1]]
        if parts[0] == "steps":
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        if expr == "github.action_path":
            return str(REPO)
        raise AssertionError(f"the emulator does not know {expr!r}: keep action.yml's expressions simple")

    def expand(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        for part in text.split("&&"):
            left, op, right = re.split(r"\s*(==|!=)\s*", part.strip())
            if (self.value(left) == self.value(right)) != (op == "=="):
                return False
        return True

    def run(self, env: dict[str, str]) -> None:
        for step in self.action["runs"]["steps"]:
            if self.failed or ("if" in step and not self.condition(step["if"])):
                continue
            if "uses" in step:
                self.used.append((step["uses"], {k: self.expand(str(v)) for k, v in step.get("with", {}).items()}))
                continue
            assert step["shell"] == "bash"
            output = self.workspace.parent / f"output_{len(self.log)}"
            step_env = {
                **env,
                **{k: self.expand(str(v)) for k, v in step.get("env", {}).items()},
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(self.summary),
            }
            script = self.workspace.parent / "step.sh"
            script.write_text(self.expand(step["run"]))
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=self.workspace,
                env=step_env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            self.log.append((step["name"], done.stdout + done.stderr))
            if "id" in step:
                self.outputs[step["id"]] = _read_outputs(output)
            if done.returncode:
                self.failed = (step["name"], done.returncode)

    def action_outputs(self) -> dict[str, str]:
        return {k: self.expand(v["value"]) for k, v in self.action["outputs"].items()}

    def text(self) -> str:
        return "\n".join(out for _, out in self.log)


def _runner_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a runner's step: navctl (this checkout's) on PATH, no real GitHub variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["RUNNER_TEMP"] = str(tmp_path / "runner_temp")
    return env


def _faster_baseline(package: Path, path: Path) -> Path:
    """main's package as it would be had onnx been twice as fast against the source model back then."""
    with zipfile.ZipFile(package) as archive:
        status = parse_status(archive.read("status.yaml").decode(), str(package))
    for record in status.results["onnx@onnxruntime-cpu"].profile:
        record.vs_reference = (record.vs_reference or 1.0) * 2
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("status.yaml", dump_status(status))
    return path


@pytest.mark.slow
def test_the_actions_shell_steps_on_an_emulated_runner(tmp_path: Path) -> None:
    """One real run (onnx is made; torchscript-trace crashes in its step), then the action again with
    main's package as the baseline, in which onnx was faster against the source model."""
    workspace = tmp_path / "checkout"
    recipe = write_project(
        workspace / "models" / "tiny",
        SEGFAULT,
        model={"entrypoint": "model.py:build_segv"},
        targets=["onnx", "torchscript-trace"],
    )
    env = _runner_env(tmp_path)
    # pip reads the action's own checkout and the extras; --dry-run: this machine has them installed
    run = ActionRun(
        workspace,
        {
            "recipes": "models/*/recipe.yaml",
            "extras": "onnx",
            "pip-args": "--dry-run --no-deps --no-build-isolation --no-index",
            "fail-on-error": "false",
        },
    )
    run.run(env)
    assert run.failed is None, run.text()
    assert run.used[0][0].startswith("actions/setup-python@") and run.used[0][1]["cache"] == "pip"
    assert (workspace / ".navctl-action" / "pyproject.toml").read_bytes() == (REPO / "pyproject.toml").read_bytes()
    assert "Would install navctl-" in run.log[1][1]
    outputs = run.action_outputs()
    package = workspace / "models" / "tiny" / "tiny.nav"
    assert outputs["exit-code"] == "1" and outputs["package"] == str(package) and package.is_file()
    assert outputs["selected-max-throughput"] == "onnx@onnxruntime-cpu"
    assert outputs["selected-min-latency"] == "onnx@onnxruntime-cpu"
    assert outputs["regressions"] == ""  # no baseline, no diff step
    # the crash, annotated on the recipe's line that asked for torchscript-trace
    line = next(i for i, text in enumerate(recipe.read_text().splitlines(), 1) if text == "- torchscript-trace")
    assert (
        f"::error file=models/tiny/recipe.yaml,line={line},title=navctl tiny%3A torchscript-trace crashed::"
        "export/torchscript-trace crashed: SIGSEGV"
    ) in run.text()
    summary = run.summary.read_text()
    assert "| onnx | onnxruntime-cpu | passed |" in summary
    assert "**Selection:** max-throughput: `onnx@onnxruntime-cpu`" in summary
    assert "<details><summary><code>export/torchscript-trace</code> crashed (fails the run)</summary>" in summary
    assert "Fatal Python error: Segmentation fault" in summary
    report = Path(outputs["report"])
    assert (workspace / report / "report.html").is_file()
    upload = dict(run.used)["actions/upload-artifact@v5"]
    assert upload["name"] == "navctl-package" and str(package) in upload["path"]

    # a pull request's run: main's package downloaded into baseline/ (an artifact keeps subfolders)
    _faster_baseline(package, workspace / "baseline" / "models" / "tiny" / "tiny.nav")
    gate = ActionRun(
        workspace,
        {"recipes": "models/*/recipe.yaml", "python-version": "", "extras": "", "pip-args": "--dry-run --no-deps "
         "--no-build-isolation --no-index", "baseline": "baseline", "fail-on-error": "false", "report": "false"},
    )  # fmt: skip
    gate.run(env)
    assert not any(uses.startswith("actions/setup-python") for uses, _ in gate.used)  # the runner's python
    assert gate.failed == ("Verdict", 1), gate.text()
    assert gate.action_outputs()["regressions"] == "1"
    assert re.search(
        r"::error title=navctl diff%3A onnx@onnxruntime-cpu::speed vs source -50\.0%25 at batch \d", gate.text()
    ), gate.text()
    assert "navctl diff found regressions beyond the threshold (exit 1)" in gate.text()
    assert "## navctl diff (threshold 5%)" in gate.summary.read_text()


def test_the_optimize_step_reports_a_glob_that_matches_nothing(tmp_path: Path) -> None:
    workspace = tmp_path / "checkout"
    workspace.mkdir()
    run = ActionRun(workspace, {"recipes": "recipes/*.yaml", "python-version": "", "pip-args": "--dry-run "
                                "--no-deps --no-build-isolation --no-index", "extras": ""})  # fmt: skip
    run.run(_runner_env(tmp_path))
    assert "::error title=navctl action::no recipe matches 'recipes/*.yaml'" in run.text()
    assert run.outputs["optimize"]["exit-code"] == "2"
    assert run.failed == ("Verdict", 2)
