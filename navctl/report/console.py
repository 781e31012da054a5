"""What a person sees: step progress while running, and the results table at the end (on stderr)."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from navctl.engine.executor import Events
from navctl.generation.report import generation_table
from navctl.plan.models import Plan, PlannedStep
from navctl.plan.registry import result_key
from navctl.report.summary import result_columns, result_rows, table_lines
from navctl.status import Status, StepRecord

STATE_STYLE = {
    "ok": "green",
    "cached": "cyan",
    "failed": "red",
    "timeout": "red",
    "crashed": "red bold",
    "skipped": "yellow",
    "unavailable": "dim",
    "rejected": "magenta",
    "running": "blue",
    "pending": "dim",
}


class PlainProgress(Events):
    """One line per finished step: for CI logs and pipes."""

    def __init__(self, console: Console, plan: Plan) -> None:
        self.console = console
        # Steps this machine cannot run are listed by `navctl plan` and status, not counted here.
        self.total = sum(1 for s in plan.steps if s.available)
        self.done = 0

    def finished(self, step: PlannedStep, record: StepRecord) -> None:
        if record.state == "unavailable":
            return
        self.done += 1
        took = f" {record.duration_s:.1f}s" if record.duration_s is not None else ""
        reason = f"  {record.reason}" if record.reason and record.state not in ("cached",) else ""
        self.console.print(
            Text.assemble(
                f"[{self.done:>3}/{self.total}] ",
                (f"{record.state:<8}", STATE_STYLE.get(record.state, "")),
                f" {step.id}{took}",
                (reason, "dim"),
            ),
            highlight=False,
            soft_wrap=True,
        )

    def note(self, message: str) -> None:
        self.console.print(Text(message, style="yellow"), highlight=False, soft_wrap=True)

    def added(self, steps: list[PlannedStep]) -> None:
        self.total += sum(1 for s in steps if s.available)

    def stop(self) -> None:
        """Nothing to tear down for plain lines."""


class LiveProgress(PlainProgress):
    """A live table of running steps on a terminal, above the lines of finished ones."""

    def __init__(self, console: Console, plan: Plan) -> None:
        super().__init__(console, plan)
        self.running: dict[str, float] = {}
        self.live = Live(
            self._render(), console=console, refresh_per_second=8, transient=True, get_renderable=self._render
        )

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        for step_id, started in self.running.items():
            table.add_row(Text("running", style="blue"), step_id, f"{now - started:5.1f}s")
        table.add_row(Text(f"{self.done}/{self.total} steps done", style="dim"))
        return table

    def started(self, step: PlannedStep) -> None:
        self.running[step.id] = time.monotonic()
        if step.exclusive:  # measurement (the kind table says which kinds run alone)
            # Redrawing 8 times a second would take a core from the runners being measured: the live
            # rows go while profiling runs (finished steps still print their line) and come back after.
            if self.live.is_started:
                self.live.stop()
                self.console.print(Text("profiling (the live display pauses while runners are measured)", "dim"))
            return
        if not self.live.is_started:
            self.live.start()
        self.live.refresh()

    def finished(self, step: PlannedStep, record: StepRecord) -> None:
        self.running.pop(step.id, None)
        super().finished(step, record)
        if self.live.is_started:
            # a print redraws the live rows as last rendered; redraw them now, not at the next tick,
            # so a finished step never lingers as 'running' under its own 'ok' line
            self.live.refresh()

    def stop(self) -> None:
        if self.live.is_started:
            self.live.stop()


def progress_for(console: Console, plan: Plan) -> PlainProgress:
    return LiveProgress(console, plan) if console.is_terminal else PlainProgress(console, plan)


# Columns dropped first, in this order, when the table would not fit the terminal.
_MINOR_COLUMNS = ("peak MB", "p95 ms", "max abs err", "@batch", "p50 ms")


def formats_table(status: Status, width: int | None = None) -> Table | Group:
    """Formats x runners; never cuts a name or a number: minor columns go first, then text folds."""
    rows = result_rows(status)
    columns = result_columns(rows)
    lines = table_lines(rows)
    cells = [cell for _, cell, _ in lines]
    keep = list(range(len(columns)))
    correct = [name for name, _ in columns].index("correct")
    last = len(columns) - 1  # the selection column wraps between words

    def natural() -> int:
        sizes = {i: max([len(columns[i][0])] + [len(c[i]) for c in cells]) for i in keep}
        sizes[last] = min(sizes[last], 16)
        return 1 + sum(size + 3 for size in sizes.values())

    for minor in _MINOR_COLUMNS:
        if width is None or natural() <= width:
            break
        keep = [i for i in keep if not columns[i][0].startswith(minor)]
    if width is not None and natural() > width:
        return _results_lines(status, lines, columns)
    table = Table(title=f"navctl results: {status.recipe.name}", title_justify="left")
    for i in keep:
        name, justify = columns[i]
        table.add_column(name, justify=justify, no_wrap=i != last, overflow="fold")
    for row, cell, _ in lines:
        style = {"passed": "green", "failed": "red", "rejected": "magenta", "reference": "cyan"}.get(
            row.correctness, ""
        )
        style = "yellow" if row.proves_little else style  # a pass that proves little: see the notes
        values = [Text(v, style=style) if i == correct else v for i, v in enumerate(cell)]
        table.add_row(*[values[i] for i in keep])
    return table


def results_table(status: Status, width: int | None = None) -> Table | Group:
    """The formats table, with a decoder's generation figures below it (navctl/generation/report.py)."""
    table = formats_table(status, width)
    generation = generation_table(status)
    return table if generation is None else Group(table, generation)


def _results_lines(status: Status, lines, columns) -> Group:
    """The same figures as lines that wrap, for terminals too narrow for the table."""
    out = [Text(f"navctl results: {status.recipe.name}", style="italic")]
    for row, cell, _ in lines:
        figures = ", ".join(f"{columns[i][0]} {cell[i]}" for i in range(2, len(columns)) if cell[i] not in ("", "-"))
        out.append(Text(f"{result_key(row.format, row.runner)}: {figures}"))
    return Group(*out)


def steps_table(status: Status, include_unavailable: bool = True) -> Table:
    table = Table(title="steps", title_justify="left")
    table.add_column("step")
    table.add_column("state")
    table.add_column("time", justify="right")
    table.add_column("reason")
    for step_id, record in status.steps.items():
        if record.state == "unavailable" and not include_unavailable:
            continue
        table.add_row(
            step_id,
            Text(record.state, style=STATE_STYLE.get(record.state, "")),
            f"{record.duration_s:.1f}s" if record.duration_s is not None else "-",
            record.reason or (f"made by {record.made_by}" if record.made_by else ""),
        )
    return table


def selection_lines(status: Status) -> list[str]:
    return [f"{strategy}: {choice or 'no correct candidate'}" for strategy, choice in status.selection.items()]


class FleetConsole:
    """`navctl optimize A.yaml B.yaml`: a line per recipe as it starts and ends, its steps in between
    through the single-run view."""

    def __init__(self, console: Console, entries: list) -> None:
        self.console = console
        self.total = len(entries)
        self.index = {id(e): i + 1 for i, e in enumerate(entries)}
        self.progress: PlainProgress | None = None
        console.print(f"{self.total} recipes queued: {', '.join(e.name for e in entries)}")

    def recipe_started(self, entry):
        self.console.print(f"[{self.index[id(entry)]}/{self.total}] {entry.name}: running ({entry.loaded.path})")
        self.progress = progress_for(self.console, entry.plan)
        return self.progress

    def recipe_submitted(self, entry) -> None:
        self.console.print(f"[{self.index[id(entry)]}/{self.total}] {entry.name}: submitted to Ray")

    def recipe_finished(self, entry) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        where = f"[{self.index[id(entry)]}/{self.total}] {entry.name}"
        if entry.outcome is None:
            state = f"{entry.state}: {entry.reason}" if entry.reason else entry.state
            error = f" ({entry.error.splitlines()[0]})" if entry.error else ""
            self.console.print(f"{where}: {state}{error}", markup=False)
            return
        best = entry.outcome.status.selection.get("max-throughput") or "no correct candidate"
        self.console.print(
            f"{where}: {entry.state}, exit {entry.exit_code}, max-throughput {best}, {entry.wall_s:.1f}s"
        )


def failure_lines(status: Status, targets: list[str], workspace: Path | None = None) -> list[str]:
    """The steps that fail the run, under the results table: a format whose export failed has no row
    there, and its progress line has scrolled away by the end of a run. With the workspace, each log's
    path is one to open from here (status.yaml keeps it relative to the workspace, which may be
    anywhere: the recipe's folder, --workspace)."""
    from navctl.report.github import failures

    lines = []
    for failure in failures(status, targets):
        if not failure.counts:  # excused and rejected steps are in the notes already
            continue
        where = f"; log: {failure.log}" if failure.log and failure.log not in failure.reason else ""
        line = f"{failure.step_id} {failure.state}: {failure.reason}{where}"
        if workspace is not None and failure.log and not Path(failure.log).is_absolute():
            line = line.replace(f"log: {failure.log}", f"log: {_from_here(workspace / failure.log)}")
        lines.append(line)
    return lines


def _from_here(path: Path) -> str:
    """The path as typed from the current folder: relative below it, absolute elsewhere."""
    path = path.absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
