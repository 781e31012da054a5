"""`navctl loadtest` on a decoder package: `navctl serve` in its own process on 127.0.0.1 (the generate
endpoint, navctl/generation/served.py), closed-loop generate requests per concurrency level
(navctl/loadtest/generation.py), and the figures kept in the package's `loadtest` record under
`generation` (tokens per second and time to first token per level).

The prompts are the package's recorded samples, one per row (padding dropped); each request asks for
the token count the generation check decoded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from navctl.errors import UsageError
from navctl.loadtest.generation import TTFT_SOURCE, GenerationLoadPoint, measure, point_line
from navctl.status import LoadtestInfo

try:  # house-cli's split moves the load-test records out of navctl.status
    from navctl.records.loadtest import ServingConfig  # type: ignore[import-not-found]
except ImportError:
    from navctl.status import ServingConfig

DRIVER = "navctl generate (pytriton asyncio decoupled gRPC client, one response per token)"
REQUESTS_PER_CLIENT = 16  # with the duration, what bounds a level
DEFAULT_NEW_TOKENS = 16


def is_decoder_package(package_path: Path) -> bool:
    from navctl.nav import load

    with load(package_path) as package:
        return getattr(package.io, "decoder", None) is not None


def prompts_of(package: Any) -> list[np.ndarray]:
    """Every row of every recorded sample as one prompt, its padding (mask 0) dropped."""
    info = package.io.decoder
    samples, _ = package.samples()
    out = []
    for sample in samples:
        ids = np.asarray(sample[info.input_ids]).reshape(-1, np.asarray(sample[info.input_ids]).shape[-1])
        mask = sample.get(info.attention_mask) if info.attention_mask else None
        mask = np.ones_like(ids) if mask is None else np.asarray(mask).reshape(ids.shape)
        out += [row[m != 0].astype(np.int64) for row, m in zip(ids, mask, strict=True) if (m != 0).any()]
    if not out:
        raise UsageError(f"{package.path}: no prompt in the recorded samples")
    return out


def _refuse_options(options: Any) -> int:
    """Options of the batch-request load test that mean nothing for generate requests; the instances."""
    from navctl.generation.served import batching_asked

    asked = batching_asked(options)
    given = {
        "--request-rate": bool(options.request_rates),
        "--latency-budget": options.latency_budget_ms is not None,
        "--tune": options.tune,
        "--batch": options.batch != 1,
        "--shape": options.shape is not None,
        "--max-batch-size": asked["--max-batch-size"],
        "--dynamic-batching": asked["--dynamic-batching"],
        "--preferred-batch-size": asked["--preferred-batch-size"],
        "--driver perf_analyzer": options.driver == "perf_analyzer",
    }
    for flag, is_given in given.items():
        if is_given:
            raise UsageError(f"{flag}: does not apply to a decoder's generate load test (closed loop, one prompt each)")
    return asked["instances"]


def run_generation_loadtest(package_path: Path, options: Any, say: Callable[[str], None]) -> LoadtestInfo:
    from navctl.generation.served import choose
    from navctl.loadtest.server import ServedModel
    from navctl.nav import load
    from navctl.plan.environment import cpu_name

    instances = _refuse_options(options)
    with load(package_path) as package:
        key, why = choose(package, options.key, options.strategy)
        prompts = prompts_of(package)
        check = package.status.results[key].generation.check
        new_tokens = int(check.new_tokens) if check and check.new_tokens else DEFAULT_NEW_TOKENS
        name = package.status.recipe.name
    lengths = sorted({len(p) for p in prompts})
    say(f"decoder: {key} ({why}); {len(prompts)} prompts of {lengths} tokens, {new_tokens} new tokens each")
    config = ServingConfig(dynamic_batching=False, instances=instances)
    points: list[GenerationLoadPoint] = []
    with ServedModel(package_path, key, name, config) as served:
        for level in options.concurrency:
            found = measure(
                served.url("grpc"),
                name,
                prompts,
                new_tokens,
                [level],
                max_requests=REQUESTS_PER_CLIENT * level,
                duration_s=options.duration_s,
            )
            points += found
            say(point_line(found[0]))
    best = max(points, key=lambda p: p.tokens_per_s)
    answer = (
        f"{key} generates {best.tokens_per_s:g} tokens/s at concurrency {best.concurrency} "
        f"(time to first token p50 {best.ttft_ms.get('p50', 0):g} ms there; "
        f"{points[0].ttft_ms.get('p50', 0):g} ms at concurrency {points[0].concurrency})"
    )
    return LoadtestInfo(
        key=key,
        protocol="grpc",
        driver=DRIVER,
        machine=cpu_name(),
        answer=answer,
        finished_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        generation={  # type: ignore[call-arg]  # an extra field: LoadtestInfo keeps what it does not name
            "max_new_tokens": new_tokens,
            "prompt_lengths": lengths,
            "ttft": TTFT_SOURCE,
            "points": [p.model_dump() for p in points],
        },
    )


def generation_table(info: LoadtestInfo):
    """One row per concurrency level."""
    from rich.table import Table

    table = Table(title=f"generate load test: {info.key} ({info.driver})", title_justify="left")
    for column in ("concurrency", "requests", "tokens/s", "ttft p50 ms", "ttft p99 ms", "server ttft ms", "errors"):
        table.add_column(column, justify="right")
    for point in (getattr(info, "generation", None) or {}).get("points", []):
        table.add_row(
            str(point["concurrency"]),
            str(point["requests"]),
            f"{point['tokens_per_s']:g}",
            f"{point['ttft_ms'].get('p50', 0):g}",
            f"{point['ttft_ms'].get('p99', 0):g}",
            f"{point['server_ttft_ms'].get('p50', 0):g}",
            str(point["errors"]),
        )
    return table
