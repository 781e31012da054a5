"""Generation measured side by side: in each round every runner does one window (one timed window of
prefills, or one greedy generation whose decode steps are timed), the first runner rotating, until
every runner's last windows agree (profiling.windows within stability_pct) or the rounds run out.

In one process, unlike the forked profiling session (navctl/profiling/interleave.py): a decode step
keeps its cache between calls and the runners are small enough to share the process; each runtime's
threads are capped to the step's. Ratios to the source are taken round by round (`vs_source`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from navctl.generation.loop import CacheLayout, DecodeStep, greedy
from navctl.profiling.rules import windows_stable

PREFILL_WINDOW = 3  # prefills per window: the window's figure is their median
# between two runners' windows, so one runtime's spinning threads do not tax the next (as interleave.py)
PAUSE_S = 0.005


@dataclass
class Series:
    """One runner's windows at one point: the window figure (ms or tokens/s) and the raw timings."""

    figures: list[float] = field(default_factory=list)
    times_s: list[list[float]] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)  # the round of each window
    stable: bool = False


def _rounds(
    names: list[str], window: Callable[[str], tuple[float, list[float]]], rounds: int, windows: int, pct: float
) -> dict[str, Series]:
    series = {name: Series() for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:  # nobody sits out: every round pairs every runner with the source
            time.sleep(PAUSE_S)
            figure, times = window(name)
            series[name].figures.append(figure)
            series[name].times_s.append(times)
            series[name].rounds.append(index)
            series[name].stable = windows_stable(series[name].figures, windows, pct)
        if all(s.stable for s in series.values()):
            break
    return series


def prompt_of(base: np.ndarray, length: int, batch: int) -> np.ndarray:
    """A prompt of `length` tokens per row, the dataloader's tokens repeated."""
    row = np.resize(base, length).astype(np.int64)
    return np.tile(row, (batch, 1))


def prefill(steps: dict[str, DecodeStep], layout: CacheLayout, base: np.ndarray, length: int, settings: dict):
    ids = prompt_of(base, length, 1)
    feed = {
        "input_ids": ids,
        "attention_mask": np.ones_like(ids),
        "position_ids": np.arange(length, dtype=np.int64)[None, :],
        **layout.empty(1),
    }

    def window(name: str) -> tuple[float, list[float]]:
        times = []
        for _ in range(PREFILL_WINDOW):
            start = time.perf_counter()
            steps[name](feed)
            times.append(time.perf_counter() - start)
        return float(np.median(times)) * 1000.0, times

    for name in steps:
        steps[name](feed)  # warm-up: first calls at a new shape are slow
    return _rounds(list(steps), window, settings["max_rounds"], settings["windows"], settings["stability_pct"])


def decode(
    steps: dict[str, DecodeStep], layout: CacheLayout, base: np.ndarray, length: int, batch: int, settings: dict
):
    ids = prompt_of(base, length, batch)
    new = settings["max_new_tokens"]

    def window(name: str) -> tuple[float, list[float]]:
        run = greedy(steps[name], layout, ids, None, new)
        times = run.decode_times_s
        return batch * len(times) / sum(times) if times else 0.0, times

    for name in steps:
        greedy(steps[name], layout, ids, None, min(new, 2))
    return _rounds(list(steps), window, settings["max_rounds"], settings["windows"], settings["stability_pct"])


def kept(series: Series, windows: int) -> list[float]:
    return [t for times in series.times_s[-windows:] for t in times]


def same_round_ratio(series: dict[str, Series], name: str, reference: str) -> float | None:
    """The median over rounds of this runner's figure over the reference's in the same round."""
    theirs = dict(zip(series[reference].rounds, series[reference].figures, strict=True))
    pairs = [(a, theirs[r]) for r, a in zip(series[name].rounds, series[name].figures, strict=True) if r in theirs]
    ratios = [a / b for a, b in pairs if b > 0]
    return float(np.median(ratios)) if ratios else None
