"""The batch sweep over one runner: auto sizes stop when throughput stops growing; OOM ends it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from navctl.profiling.measure import MeasureSettings, measure
from navctl.profiling.rules import MEMORY_STOP_MARK, sweep_stop_reason
from navctl.records.results import ProfileRecord

_OOM_MARKERS = ("out of memory", "outofmemory", "failed to allocate", "bad_alloc", "cannot allocate memory")

# A runner warm from the size before needs one call at a new size (its first, with the allocations);
# anything slower after it fails the windows' agreement, which measures another window.
BETWEEN_SIZES_WARMUP_S = 0.0


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    text = f"{type(exc).__name__} {exc}".lower()
    return any(marker in text for marker in _OOM_MARKERS)


@dataclass
class SweepResult:
    records: list[ProfileRecord] = field(default_factory=list)
    stopped: str = ""


def sweep(
    make_infer: Callable[[int], Callable[[], object]],
    sizes: list[int],
    settings: MeasureSettings,
    auto: bool,
    gain_pct: float,
    patience: int,
    predict: bool = True,
    warm: bool = False,
) -> SweepResult:
    """Measure each size in turn. `make_infer(size)` builds the feed and returns a zero-arg call.
    `warm`: the runner has run already (at another shape), so its first size gets one call too."""
    result = SweepResult()
    noise: dict[int, float] = {}
    for i, size in enumerate(sizes):
        try:
            infer = make_infer(size)
            first = i == 0 and not warm
            record = measure(infer, size, settings, warmup_s=None if first else BETWEEN_SIZES_WARMUP_S, noise_pct=noise)
        except Exception as exc:
            if not is_out_of_memory(exc) or not result.records:
                raise
            result.stopped = f"{MEMORY_STOP_MARK} {size}: {str(exc).strip().splitlines()[0][:200]}"
            break
        result.records.append(record)
        stable = [(r.batch_size, r.throughput) for r in result.records if r.stable]
        if i == len(sizes) - 1:  # the last size: a stop now would cut nothing short
            break
        if auto and record.stable and (reason := sweep_stop_reason(stable, gain_pct, patience, predict, noise)):
            result.stopped = reason
            break
    return result
