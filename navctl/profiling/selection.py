"""Selection strategies: pure functions from the run's results to one `format@runner` each."""

from __future__ import annotations

from navctl.generation import selection as generation_selection
from navctl.plan.registry import SOURCE
from navctl.recipe.models import Selection
from navctl.records.results import ProfileRecord, RunnerResult

PINNED = "pinned"


def candidates(results: dict[str, RunnerResult], verify_required: bool) -> dict[str, RunnerResult]:
    """Correct (and verified, when the recipe verifies) formats with a profile; never the source."""
    out = {}
    for key, result in results.items():
        if result.format == SOURCE or not result.profile:
            continue
        if result.correctness is None or not result.correctness.passed:
            continue
        if verify_required and (result.verify is None or not result.verify.passed):
            continue
        out[key] = result
    return out


def _latency(record: ProfileRecord, percentile: str) -> float:
    return getattr(record, f"{percentile}_ms")


def trusted(profile: list[ProfileRecord]) -> list[ProfileRecord]:
    """The stable records, when there are any: a peak seen only in noisy windows is not a peak to pick."""
    return [r for r in profile if r.stable] or profile


def max_throughput(pool: dict[str, RunnerResult]) -> str | None:
    best = max(pool.items(), key=lambda kv: max(r.throughput for r in trusted(kv[1].profile)), default=None)
    return best[0] if best else None


def min_latency(pool: dict[str, RunnerResult], percentile: str = "p50") -> str | None:
    """Lowest latency at each candidate's smallest measured batch size."""

    def smallest(result: RunnerResult) -> float:
        record = min(result.profile, key=lambda r: r.batch_size)
        return _latency(record, percentile)

    best = min(pool.items(), key=lambda kv: smallest(kv[1]), default=None)
    return best[0] if best else None


def max_throughput_within_budget(pool: dict[str, RunnerResult], budget_ms: float, percentile: str) -> str | None:
    best_key, best_tp = None, -1.0
    for key, result in pool.items():
        for record in trusted(result.profile):
            if _latency(record, percentile) <= budget_ms and record.throughput > best_tp:
                best_key, best_tp = key, record.throughput
    return best_key


def best_by_batch_size(results: dict[str, RunnerResult], verify_required: bool) -> dict[str, str]:
    """For each measured batch size, the candidate with the highest throughput there."""
    best: dict[int, tuple[float, str]] = {}
    for key, result in candidates(results, verify_required).items():
        for record in result.profile:
            if record.batch_size not in best or record.throughput > best[record.batch_size][0]:
                best[record.batch_size] = (record.throughput, key)
    return {str(size): best[size][1] for size in sorted(best)}


def select(results: dict[str, RunnerResult], settings: Selection, verify_required: bool) -> dict[str, str | None]:
    pool = candidates(results, verify_required)
    chosen: dict[str, str | None] = {}
    for strategy in settings.strategies:
        if strategy == "max-throughput":
            chosen[strategy] = max_throughput(pool)
        elif strategy == "min-latency":
            chosen[strategy] = min_latency(pool)
        elif strategy == "max-throughput-within-latency-budget" and settings.latency_budget_ms is not None:
            chosen[strategy] = max_throughput_within_budget(
                pool, settings.latency_budget_ms, settings.latency_percentile
            )
        elif strategy in generation_selection.STRATEGIES:
            chosen[strategy] = generation_selection.choose(strategy, results)
    if generation_selection.measured(results):  # a decoder: its own figures decide too
        for strategy in generation_selection.STRATEGIES:
            chosen.setdefault(strategy, generation_selection.choose(strategy, results))
    if settings.pin is not None:
        chosen[PINNED] = settings.pin if settings.pin in pool else None
    return chosen


def _deciding_record(result: RunnerResult, strategy: str, settings: Selection) -> ProfileRecord | None:
    """The record a strategy ranks this candidate by (None: it has none that counts)."""
    if strategy == "max-throughput":
        return max(trusted(result.profile), key=lambda r: r.throughput, default=None)
    if strategy == "min-latency":
        return min(result.profile, key=lambda r: r.batch_size, default=None)
    if strategy == "max-throughput-within-latency-budget" and settings.latency_budget_ms is not None:
        inside = [
            r for r in trusted(result.profile) if _latency(r, settings.latency_percentile) <= settings.latency_budget_ms
        ]
        return max(inside, key=lambda r: r.throughput, default=None)
    return None


def _figure(record: ProfileRecord, strategy: str) -> tuple[float, str]:
    """(how far ahead is counted on: larger is better, the figure as a reader reads it)."""
    if strategy == "min-latency":
        return (
            1.0 / record.p50_ms if record.p50_ms > 0 else 0.0,
            f"p50 {record.p50_ms:.3g} ms at batch {record.batch_size}",
        )
    return record.throughput, f"{record.throughput:,.0f}/s at batch {record.batch_size}"


def close_calls(
    results: dict[str, RunnerResult],
    settings: Selection,
    verify_required: bool,
    chosen: dict[str, str | None],
    floor_pct: float,
) -> dict[str, str]:
    """Strategies whose winner leads the runner-up by no more than the noise of the two figures that
    decided (their windows' spread, at least `floor_pct`: the sweep's own smallest gain that counts),
    with why: another run on the same machine may pick the runner-up, and either serves about as fast."""
    pool = candidates(results, verify_required)
    calls: dict[str, str] = {}
    for strategy, winner in chosen.items():
        if winner not in pool:
            continue
        ranked = {k: _deciding_record(r, strategy, settings) for k, r in pool.items()}
        ranked = {k: r for k, r in ranked.items() if r is not None}
        others = {k: r for k, r in ranked.items() if k != winner}
        if winner not in ranked or not others:
            continue
        ahead, ahead_text = _figure(ranked[winner], strategy)
        second = max(others, key=lambda k: _figure(others[k], strategy)[0])
        behind, behind_text = _figure(others[second], strategy)
        if behind <= 0:
            continue
        lead_pct = (ahead / behind - 1.0) * 100.0
        noise_pct = max(ranked[winner].spread_pct or 0.0, others[second].spread_pct or 0.0, floor_pct)
        if lead_pct <= noise_pct:
            calls[strategy] = (
                f"{winner} leads {second} by {lead_pct:.1f}% ({ahead_text} against {behind_text}), within the "
                f"measurements' noise ({noise_pct:.0f}%): a rerun may pick either"
            )
    return calls


def behind_source(
    results: dict[str, RunnerResult],
    settings: Selection,
    chosen: dict[str, str | None],
    floor_pct: float,
) -> dict[str, str]:
    """Strategies whose winner is slower than the source model by more than the noise of the two figures
    that decided: the source is never a candidate (it is your code, not a file to serve), so a reader
    must be told that serving the model as it is would be faster than anything navctl made."""
    source = next((r for r in results.values() if r.format == SOURCE and r.profile), None)
    if source is None:
        return {}
    behind: dict[str, str] = {}
    for strategy, winner in chosen.items():
        if winner not in results or strategy == PINNED:
            continue
        ours, theirs = (
            _deciding_record(results[winner], strategy, settings),
            _deciding_record(source, strategy, settings),
        )
        if ours is None or theirs is None:
            continue
        (ahead, ahead_text), (base, base_text) = _figure(ours, strategy), _figure(theirs, strategy)
        if ahead <= 0:
            continue
        lag_pct = (base / ahead - 1.0) * 100.0
        if ours.batch_size == theirs.batch_size and ours.vs_reference:  # the same rounds: drift cancels out
            lag_pct = (1.0 / ours.vs_reference - 1.0) * 100.0
        noise_pct = max(ours.spread_pct or 0.0, theirs.spread_pct or 0.0, floor_pct)
        if lag_pct > noise_pct:
            behind[strategy] = (
                f"{winner}, the best format made, is {lag_pct:.0f}% behind the source model ({ahead_text} "
                f"against {base_text}{_same_rounds(ours, theirs)}), beyond the measurements' noise "
                f"({noise_pct:.0f}%): your model as it is serves faster"
            )
    return behind


def _same_rounds(ours: ProfileRecord, theirs: ProfileRecord) -> str:
    if ours.batch_size == theirs.batch_size and ours.vs_reference:
        return f"; {ours.vs_reference:.2f}x in the rounds both were measured in"
    return ""
