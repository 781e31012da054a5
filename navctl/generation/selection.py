"""Decoder selection strategies, over `results.<key>.generation`: `min-time-to-first-token` (the lowest
time to the first token at the shortest prompt length measured) and `max-tokens-per-second` (the most
tokens per second at any batch size, stable points first). Candidates passed the generation check and
are not the source. A run with generation figures applies both even when the recipe names neither."""

from __future__ import annotations

from navctl.generation.records import GenerationResult

MIN_TTFT = "min-time-to-first-token"
MAX_TPS = "max-tokens-per-second"
STRATEGIES = (MIN_TTFT, MAX_TPS)


def _pool(results: dict) -> dict[str, GenerationResult]:
    out = {}
    for key, result in results.items():
        gen = result.generation
        if result.format == "source" or gen is None or gen.check is None or not gen.check.passed:
            continue
        if gen.prefill and gen.decode:
            out[key] = gen
    return out


def measured(results: dict) -> bool:
    return any(r.generation is not None and r.generation.decode for r in results.values())


def choose(strategy: str, results: dict) -> str | None:
    pool = _pool(results)
    if not pool:
        return None
    if strategy == MIN_TTFT:
        return min(pool, key=lambda k: min(pool[k].prefill, key=lambda p: p.prompt_length).ttft_ms)

    def best(gen: GenerationResult) -> float:
        points = [p for p in gen.decode if p.stable] or gen.decode
        return max(p.tokens_per_s for p in points)

    return max(pool, key=lambda k: best(pool[k]))
