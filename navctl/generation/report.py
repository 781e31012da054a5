"""A decoder's generation figures as a table (under the results table of `optimize` and `status`) and
as rows for `diff`: per format@runner the check, time to the first token per prompt length, decode
latency and tokens per second per batch size, and the same-round ratios to the source."""

from __future__ import annotations

from rich.table import Table

from navctl.status import Status

# what the generation rows hold, said once for every place that shows them
GENERATION_NOTE = (
    "greedy decoding through each format's decode step against the source: tokens, time to the first token "
    "per prompt length (ms), decode latency and tokens per second per batch size, same-round ratios to the "
    "source; ~ marks an unstable figure"
)


def _check(result) -> str:
    check = result.generation.check
    if check is None:
        return "-"
    if check.tokens_match and check.passed:
        return "same" if check.gate != "tokens vs generate" else "=generate"
    if check.first_divergence is not None:
        d = check.first_divergence
        return f"differ @{d.step} ({d.expected}->{d.actual})"
    return "logits off"


def generation_rows(status: Status) -> tuple[list[str], list[list[str]]]:
    """Column names and one row per format@runner with generation figures (empty when none)."""
    keyed = {k: r for k, r in status.results.items() if r.generation is not None}
    lengths = sorted({p.prompt_length for r in keyed.values() for p in r.generation.prefill})
    batches = sorted({p.batch_size for r in keyed.values() for p in r.generation.decode})
    # short headings (status.yaml's keys carry the units): ttft per prompt length, decode at the smallest
    # batch size, tokens per second per batch size
    columns = ["format@runner", "tokens"]
    columns += [f"ttft ms @{n}" for n in lengths]
    columns += [f"p50 ms @b{b}" for b in batches[:1]] + [f"p99 ms @b{b}" for b in batches[:1]]
    columns += [f"tok/s @b{b}" for b in batches] + ["vs source ttft, tok/s"]
    rows = []
    for key, result in keyed.items():
        gen = result.generation
        ttft = {p.prompt_length: p for p in gen.prefill}
        dec = {p.batch_size: p for p in gen.decode}
        row = [key, _check(result)]
        row += [f"{ttft[n].ttft_ms:.3g}{'' if ttft[n].stable else '~'}" if n in ttft else "-" for n in lengths]
        first = dec.get(batches[0]) if batches else None
        row += (
            [f"{first.decode_p50_ms:.3g}", f"{first.decode_p99_ms:.3g}"]
            if first
            else ["-", "-"][: len(batches[:1]) * 2]
        )
        row += [f"{dec[b].tokens_per_s:.4g}{'' if dec[b].stable else '~'}" if b in dec else "-" for b in batches]
        vs = gen.vs_source
        row.append(f"{vs['ttft']:.2f}x, {vs['tokens_per_s']:.2f}x" if "ttft" in vs and "tokens_per_s" in vs else "-")
        rows.append(row)
    return columns, rows


def generation_table(status: Status) -> Table | None:
    columns, rows = generation_rows(status)
    if not rows:
        return None
    measured = any(r.generation.side_by_side for r in status.results.values() if r.generation)
    how = "side by side, same-round ratios to the source" if measured else "not measured"
    table = Table(title=f"generation (greedy; {how}; ~ unstable)", title_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < 2 else "right", no_wrap=i > 0, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table
