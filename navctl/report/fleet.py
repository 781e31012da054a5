"""The fleet summary of `navctl optimize A.yaml B.yaml ...`: one row per recipe, as Rich, Markdown or JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from navctl.engine.fleet import FleetEntry
from navctl.plan.registry import result_key
from navctl.report.summary import result_rows
from navctl.status import SUCCESS_STATES

COLUMNS = ("recipe", "state", "steps ok/failed/unavailable", "max-throughput", "min-latency", "wall s", "package")


@dataclass
class FleetRow:
    recipe: str
    path: str
    state: str
    exit_code: int | None
    steps_ok: int
    steps_failed: int
    steps_unavailable: int
    max_throughput: str | None  # format@runner (speedup)
    min_latency: str | None
    wall_s: float
    package: str | None
    error: str  # the whole message, shown in a note under the table
    attempts: int = 1
    reason: str = ""  # why a recipe was not run, in a word or two

    def state_text(self) -> str:
        """`done (exit 1)`, `not run: invalid recipe (exit 2)`, `not run: interrupted`."""
        state = f"{self.state}: {self.reason}" if self.reason else self.state
        if self.exit_code is not None:
            state += f" (exit {self.exit_code})"
        if self.attempts > 1:
            state += f", retried {self.attempts - 1}x"
        return state

    def cells(self) -> list[str]:
        return [
            self.recipe,
            self.state_text(),
            f"{self.steps_ok}/{self.steps_failed}/{self.steps_unavailable}",
            self.max_throughput or "-",
            self.min_latency or "-",
            f"{self.wall_s:.1f}",
            self.package or "-",
        ]


def _choice(entry: FleetEntry, strategy: str) -> str | None:
    if entry.outcome is None:
        return None
    status = entry.outcome.status
    key = status.selection.get(strategy)
    if not key:
        return None
    speedup = next((r.speedup for r in result_rows(status) if result_key(r.format, r.runner) == key), None)
    return f"{key} ({speedup:.2f}x)" if speedup else key


def fleet_rows(entries: list[FleetEntry]) -> list[FleetRow]:
    rows = []
    for entry in entries:
        states: Counter[str] = Counter()
        if entry.outcome is not None:
            states = Counter(s.state for s in entry.outcome.status.steps.values())
        rows.append(
            FleetRow(
                recipe=entry.name,
                path=str(entry.loaded.path),
                state=entry.state,
                exit_code=entry.exit_code,
                steps_ok=sum(states[s] for s in SUCCESS_STATES),
                steps_failed=states["failed"] + states["timeout"] + states["crashed"],
                steps_unavailable=states["unavailable"],
                max_throughput=_choice(entry, "max-throughput"),
                min_latency=_choice(entry, "min-latency"),
                wall_s=entry.wall_s,
                package=str(entry.outcome.package) if entry.outcome and entry.outcome.package else None,
                error=entry.error,
                attempts=entry.attempts,
                reason=entry.reason,
            )
        )
    return rows


def fleet_table(entries: list[FleetEntry]):
    from rich.table import Table

    table = Table(title=f"navctl fleet: {len(entries)} recipes", title_justify="left")
    for name in COLUMNS:
        table.add_column(name, justify="right" if name == "wall s" else "left", overflow="fold")
    for row in fleet_rows(entries):
        table.add_row(*row.cells())
    return table


def fleet_notes(entries: list[FleetEntry]) -> list[str]:
    """A note under the table per recipe that stopped on an error (what stopped it, whole) or whose
    numbers are flagged unreliable."""
    notes = []
    for entry, row in zip(entries, fleet_rows(entries), strict=True):
        if row.error:
            lead = f"{row.recipe}: not run: " if row.state == "not run" else f"{row.recipe}: "
            notes.append(lead + row.error.replace("\n", "\n  "))
        unreliable = entry.outcome.status.profiling.unreliable if entry.outcome else ""
        if unreliable:  # its speedups stand in the table beside the others': the reader must know
            notes.append(f"{row.recipe}: numbers unreliable: the machine was busy ({unreliable})")
    return notes


def fleet_markdown(entries: list[FleetEntry]) -> str:
    lines = [f"## navctl fleet: {len(entries)} recipes", "", "| " + " | ".join(COLUMNS) + " |"]
    lines.append("|" + "|".join("---:" if name == "wall s" else "---" for name in COLUMNS) + "|")
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row.cells()) + " |" for row in fleet_rows(entries)]
    notes = fleet_notes(entries)
    if notes:
        lines += ["", *(f"- {note}".replace("\n", "<br>") for note in notes)]
    return "\n".join(lines) + "\n\n"


def fleet_document(entries: list[FleetEntry], exit_code: int, run_document) -> dict[str, Any]:
    """One document: the fleet's exit code and a run per recipe (a single run's --json fields, when it
    produced an outcome) with the fleet row's fields."""
    runs = []
    for entry, row in zip(entries, fleet_rows(entries), strict=True):
        runs.append({**asdict(row), **(run_document(entry.outcome) if entry.outcome else {})})
    return {"exit_code": exit_code, "runs": runs}
