"""What a Model Navigator run delivered and where its time went, from its workspace (status.yaml, navigator.log)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

_STARTED = re.compile(r"Command '(\w+)' started")
_SECONDS = re.compile(r"pipeline\.py:\d+ - Execution time: ([0-9.]+)\[s\]")
_USAGE = re.compile(r"Memory Usage \[(\w+)\]")
_KEY = re.compile(r" - +(Model key|Runner): (\S+)$")
# a traceback's last line: an exception class (dotted or not) at the start of the line
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)")
# what Model Navigator calls its commands, by the phase navctl would call them
PHASES = {"Correctness": "correctness", "Performance": "profile", "VerifyModel": "verify"}


def _phase(command: str) -> str:
    if command in PHASES:
        return PHASES[command]
    if command.startswith(("Export", "Convert", "GraphSurgeon")):
        return "export"
    return "other"


def _sections(log: Path) -> list[dict]:
    """navigator.log cut at each command: its name, model key, runner, seconds and the exceptions it logged.

    A command logs its start, its time, then its memory usage with the model key and runner; a skipped
    one logs no start, so a second time in one section opens the next.
    """
    sections: list[dict] = []

    def begin(command: str | None) -> dict:
        sections.append({"command": command, "key": None, "runner": None, "seconds": None, "errors": []})
        return sections[-1]

    for line in log.read_text(errors="replace").splitlines():
        if started := _STARTED.search(line):
            begin(started[1])
        elif seconds := _SECONDS.search(line):
            section = sections[-1] if sections and sections[-1]["seconds"] is None else begin(None)
            section["seconds"] = float(seconds[1])
        elif not sections:
            continue
        elif usage := _USAGE.search(line):
            sections[-1]["command"] = sections[-1]["command"] or usage[1]
        elif found := _KEY.search(line):
            sections[-1]["key" if found[1] == "Model key" else "runner"] = found[2]
        elif error := _EXCEPTION.match(line):
            sections[-1]["errors"].append(f"{error[1].rsplit('.', 1)[-1]}: {error[2][:160]}")
    return [s for s in sections if s["command"]]


def _reason(sections: list[dict], command: str, key: str, runner: str | None) -> str:
    """The first exception the failing command logged: the cause, before Model Navigator's own wrapper."""
    for section in sections:
        ours = section["command"] == command and section["key"] == key and section["runner"] in (runner, None)
        if ours and section["errors"]:
            return section["errors"][0]
    return "no exception logged"


def read_model_navigator(workspace: Path) -> dict:
    """Delivered format@runner (correctness and performance passed), failures with their cause, seconds by phase."""
    status_file, log = workspace / "status.yaml", workspace / "navigator.log"
    if not status_file.exists():
        return {"delivered": [], "failed": ["no status.yaml: Model Navigator stopped before writing it"], "phases": {}}
    status = yaml.safe_load(status_file.read_text())
    sections = _sections(log) if log.exists() else []
    delivered, failed = [], []
    for key, model in (status.get("models_status") or {}).items():
        for command, state in (model.get("status") or {}).items():
            if state == "FAIL":
                failed.append(f"{key} {command} FAIL ({_reason(sections, command, key, None)})")
        for runner, record in (model.get("runners_status") or {}).items():
            states = record.get("status") or {}
            if key != "torch" and states.get("Correctness") == "OK" and states.get("Performance") == "OK":
                delivered.append(f"{key}@{runner}")
            for command, state in states.items():
                if state == "FAIL":
                    failed.append(f"{key}@{runner} {command} FAIL ({_reason(sections, command, key, runner)})")
                elif state == "SKIPPED":
                    failed.append(f"{key}@{runner} {command} SKIPPED")
    phases: dict[str, float] = {}
    for section in sections:
        phase = _phase(section["command"])
        phases[phase] = phases.get(phase, 0.0) + (section["seconds"] or 0.0)
    return {"delivered": delivered, "failed": failed, "phases": phases}
