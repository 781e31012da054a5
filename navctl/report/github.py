"""GitHub Actions as a home: step outputs, annotations on the recipe's lines, and the step summary.

A step talks to GitHub through three channels: `name=value` lines appended to the file named by
$GITHUB_OUTPUT (the next steps read them as `steps.<id>.outputs.<name>`), workflow commands on its
output (`::error file=recipe.yaml,line=9::...` becomes an annotation on that line of a pull request's
diff) and Markdown appended to $GITHUB_STEP_SUMMARY (shown on the run's page). The summary and the
outputs are written whenever their variables are set; annotations only under GITHUB_ACTIONS=true,
where something reads them.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from navctl.engine.record import FAILED_STATES, excused_export_failures
from navctl.plan.registry import SOURCE, covers, step_format
from navctl.recipe.yaml_loader import YamlProblems, load_yaml
from navctl.report.markdown import markdown_summary
from navctl.status import EXCUSED_MARK, Status

# Step states a workflow must hear about: the first three fail the run unless excused.
ANNOUNCED_STATES = (*FAILED_STATES, "rejected")
LOG_TAIL_LINES = 40
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


# ----- the three channels ----------------------------------------------------------------------------
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: str, message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
) -> str:
    """One workflow command line: `::error file=F,line=L,title=T::message` (escaped as GitHub reads it)."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
        if line:
            props.append(f"line={line}")
    if title:
        props.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(props)}::{_escape_data(message)}" if props else f"::{level}::{_escape_data(message)}"


def set_outputs(values: dict[str, str]) -> None:
    """Append step outputs to $GITHUB_OUTPUT; a value with line breaks uses the heredoc form."""
    target = os.environ.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            if "\n" in value:
                delimiter = f"navctl_{uuid.uuid4().hex}"
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                handle.write(f"{name}={value}\n")


def append_summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text)


def shown_path(path: Path) -> str:
    """A file as GitHub names it in annotations: relative to the checkout ($GITHUB_WORKSPACE)."""
    for root in (os.environ.get("GITHUB_WORKSPACE"), os.getcwd()):
        if root:
            try:
                return str(path.resolve().relative_to(Path(root).resolve()))
            except ValueError:
                continue
    return str(path)


# ----- what went wrong in a run --------------------------------------------------------------------
@dataclass
class Failure:
    step_id: str
    state: str
    reason: str
    log: str | None  # relative to the workspace
    counts: bool  # makes the exit code 1

    @property
    def format(self) -> str | None:
        """The format a step id names (`correctness/onnx@onnxruntime-cpu` -> onnx); None for samples."""
        return step_format(self.step_id)


def failures(status: Status, targets: list[str]) -> list[Failure]:
    """Every failed, timed-out, crashed or rejected step, and whether it counts towards exit code 1."""
    excused = excused_export_failures(status, targets)
    return [
        Failure(
            step_id,
            r.state,
            r.reason,
            r.log,
            r.state in FAILED_STATES and step_id not in excused and EXCUSED_MARK not in r.reason,
        )
        for step_id, r in status.steps.items()
        if r.state in ANNOUNCED_STATES
    ]


class RecipeLines:
    """Where a recipe lists what a failure belongs to: the `targets` entry that asked for a format,
    the `model` line for the source model and the samples."""

    def __init__(self, path: Path, targets: list[str]) -> None:
        self.path = path
        self.targets = targets
        try:
            self.doc = load_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YamlProblems):
            self.doc = None

    def line_for(self, fmt: str | None) -> int | None:
        if self.doc is None:
            return None
        if fmt is None or fmt == SOURCE:
            return self.doc.position(("model",), key=True)[0]
        for index, target in enumerate(self.targets):
            if covers(target, fmt):
                return self.doc.position(("targets", index))[0]
        return self.doc.position(("targets",), key=True)[0]


def run_annotations(status: Status, recipe: Path, targets: list[str]) -> list[str]:
    """An annotation per announced step on its recipe line (error when it fails the run), and one for
    figures the run itself flagged unreliable."""
    lines = RecipeLines(recipe, targets)
    file = shown_path(recipe)
    out = []
    for failure in failures(status, targets):
        level = "error" if failure.counts else "warning"
        what = failure.format or failure.step_id
        out.append(
            annotation(
                level,
                f"{failure.step_id} {failure.state}: {failure.reason}",
                file=file,
                line=lines.line_for(failure.format),
                title=f"navctl {status.recipe.name}: {what} {failure.state}",
            )
        )
    if status.profiling.unreliable:
        out.append(
            annotation(
                "warning",
                f"numbers unreliable: {status.profiling.unreliable}; rerun on a quieter machine before "
                "trusting the selection",
                file=file,
                title=f"navctl {status.recipe.name}: unreliable measurements",
            )
        )
    return out


def log_tail(workspace: Path, log: str | None) -> str:
    if not log:
        return "(no log)"
    try:
        text = (workspace / log).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    lines = [_ANSI.sub("", line)[:400] for line in text.splitlines() if line.strip()][-LOG_TAIL_LINES:]
    return "\n".join(lines) or "(empty log)"


def failure_details(status: Status, workspace: Path, targets: list[str]) -> str:
    """A collapsed block per announced step with its reason and the end of its log."""
    blocks = []
    for failure in failures(status, targets):
        tail = log_tail(workspace, failure.log)
        fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", tail)), default=0) + 1)
        effect = "fails the run" if failure.counts else "does not fail the run"
        blocks.append(
            f"<details><summary><code>{failure.step_id}</code> {failure.state} ({effect})</summary>\n\n"
            f"{escape_md(failure.reason)}\n\n"
            f"Last lines of `{failure.log or 'no log'}`:\n\n{fence}text\n{tail}\n{fence}\n\n</details>\n"
        )
    return "\n".join(blocks) + ("\n" if blocks else "")


def escape_md(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def run_summary(status: Status, workspace: Path, targets: list[str]) -> str:
    return markdown_summary(status) + failure_details(status, workspace, targets)


# ----- what a workflow's next steps read -------------------------------------------------------------
def run_outputs(status: Status, exit_code: int, package: Path | None, workspace: Path) -> dict[str, str]:
    outputs = {
        "exit-code": str(exit_code),
        "package": str(package) if package else "",
        "workspace": str(workspace),
    }
    outputs.update({f"selected-{strategy}": key or "" for strategy, key in status.selection.items()})
    return outputs


def fleet_outputs(entries: list, exit_code: int) -> dict[str, str]:
    """Several recipes: a line per recipe in `package` and `workspace`, `name: format@runner` lines
    per strategy."""
    done = [e for e in entries if e.outcome is not None]
    outputs = {
        "exit-code": str(exit_code),
        "package": "\n".join(str(e.outcome.package) for e in done if e.outcome.package),
        "workspace": "\n".join(str(e.outcome.workspace) for e in done),
    }
    strategies = {s for e in done for s in e.outcome.status.selection}
    for strategy in sorted(strategies):
        chosen = [f"{e.name}: {e.outcome.status.selection.get(strategy) or 'none'}" for e in done]
        outputs[f"selected-{strategy}"] = "\n".join(chosen)
    return outputs


# ----- the calls commands make -------------------------------------------------------------------
def say(lines: list[str], stream: TextIO | None) -> None:
    stream = stream or sys.stderr
    for line in lines:
        stream.write(line + "\n")
    stream.flush()


def publish_run(outcome, recipe: Path, targets: list[str], stream: TextIO | None = None) -> None:
    """`navctl optimize` with one recipe: summary, outputs and (under Actions) annotations."""
    status = outcome.status
    append_summary(run_summary(status, outcome.workspace, targets))
    set_outputs(run_outputs(status, outcome.exit_code, outcome.package, outcome.workspace))
    if in_github_actions():
        say(run_annotations(status, recipe, targets), stream)


def publish_fleet(entries: list, exit_code: int, fleet_markdown: str, stream: TextIO | None = None) -> None:
    """Several recipes: the fleet table, then each recipe's summary collapsed, outputs, annotations."""
    parts = [fleet_markdown]
    annotations = []
    for entry in entries:
        recipe, targets = entry.loaded.path, list(entry.loaded.recipe.targets)
        if entry.outcome is None:
            if entry.error:
                annotations.append(
                    annotation("error", f"{entry.name} {entry.state}: {entry.error}", file=shown_path(recipe))
                )
            continue
        status = entry.outcome.status
        parts.append(
            f"<details><summary>{entry.name}: exit {entry.outcome.exit_code}</summary>\n\n"
            + run_summary(status, entry.outcome.workspace, targets)
            + "\n</details>\n\n"
        )
        annotations += run_annotations(status, recipe, targets)
    append_summary("".join(parts))
    set_outputs(fleet_outputs(entries, exit_code))
    if in_github_actions():
        say(annotations, stream)
