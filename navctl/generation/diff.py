"""`navctl diff` rows for decoders, one `generation <format@runner>` row per runner both runs measured:
tokens per second at the smallest batch size both measured (as throughput), time to the first token at
the shortest prompt length both measured (as latency), and the check (as correctness). With the
relative basis, tokens per second is gated on its same-round ratio to the source, as the other rows."""

from __future__ import annotations

from navctl.report.diff import DiffRow, _change
from navctl.status import RunnerResult, Status


def _figures(b: RunnerResult, n: RunnerResult) -> tuple[float | None, float | None, float | None, float | None]:
    gb, gn = b.generation, n.generation
    batches = sorted(set(gb.tokens_per_s) & set(gn.tokens_per_s))
    lengths = sorted(set(gb.ttft_ms) & set(gn.ttft_ms))
    tb = gb.tokens_per_s[batches[0]] if batches else None
    tn = gn.tokens_per_s[batches[0]] if batches else None
    lb = gb.ttft_ms[lengths[0]] if lengths else None
    ln = gn.ttft_ms[lengths[0]] if lengths else None
    return tb, tn, lb, ln


def generation_rows(base: Status, new: Status, threshold_pct: float, basis: str) -> list[DiffRow]:
    rows = []
    for key in sorted(set(base.results) & set(new.results)):
        b, n = base.results[key], new.results[key]
        if b.generation is None or n.generation is None:
            continue
        tb, tn, lb, ln = _figures(b, n)
        passed = [r.generation.check.passed if r.generation.check else None for r in (b, n)]
        row = DiffRow(
            key=f"generation {key}",
            base_correct=passed[0],
            new_correct=passed[1],
            base_throughput=tb,
            new_throughput=tn,
            throughput_change_pct=_change(tb, tn),
            base_latency_ms=lb,
            new_latency_ms=ln,
            latency_change_pct=_change(lb, ln),
        )
        if passed[0] and passed[1] is False:
            row.regressions.append("generated tokens no longer match the source")
        relative = basis == "relative" and b.format != "source"
        vb, vn = b.generation.vs_source.get("tokens_per_s"), n.generation.vs_source.get("tokens_per_s")
        if relative and vb is not None and vn is not None:
            row.basis, row.base_vs_source, row.new_vs_source = "relative", vb, vn
            row.vs_source_change_pct = _change(vb, vn)
            speed = row.vs_source_change_pct
        else:
            speed = row.throughput_change_pct
        if speed is not None and speed < -threshold_pct:
            row.regressions.append(f"tokens per second {speed:+.1f}%")
        if not relative and row.latency_change_pct is not None and row.latency_change_pct > threshold_pct:
            row.regressions.append(f"time to first token {row.latency_change_pct:+.1f}%")
        rows.append(row)
    return rows
