"""`navctl serve` on a decoder package: which decode-step format@runner it serves, and that format's
decode steps loaded for the generate endpoint (navctl/generation/serving.py).

A package is a decoder's when its samples step recorded a `decoder` (model_io.json and status.yaml).
Servable keys are the decode-step formats (onnx, openvino, torchscript-trace, ...) whose generation
check passed; the source model needs the user's code and is never served.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from navctl.errors import UsageError
from navctl.generation.loop import CacheLayout
from navctl.generation.selection import MAX_TPS, MIN_TTFT, STRATEGIES
from navctl.generation.serving import Decoder
from navctl.triton.merging import Serving

# The throughput and latency strategies' generation counterparts: `--strategy` keeps its default and
# its meaning on a decoder (most tokens per second, or the first token soonest).
EQUIVALENT = {"max-throughput": MAX_TPS, "min-latency": MIN_TTFT}
MAX_NEW_TOKENS = 1024  # the most one request may ask for


def batching_asked(options: Serving) -> dict[str, Any]:
    """The batching flags a serve or loadtest invocation gave (their shared `Serving` options)."""
    config, dynamic = options.batching, options.merging_asked
    return {
        "--max-batch-size": config.max_batch_size is not None,
        "--dynamic-batching": bool(dynamic),
        "--preferred-batch-size": bool(config.preferred_batch_sizes),
        "instances": max(1, int(config.instances)),
    }


def is_decoder(package: Any) -> bool:
    return getattr(package.io, "decoder", None) is not None


def servable(package: Any) -> list[str]:
    """format@runner keys with a decode-step artifact whose generation check passed."""
    from navctl.generation.plan_ext import DECODE_FORMATS

    keys = []
    for key, result in package.status.results.items():
        gen = getattr(result, "generation", None)
        if result.format in DECODE_FORMATS and gen is not None and gen.check is not None and gen.check.passed:
            keys.append(key)
    return sorted(keys)


def choose(package: Any, key: str | None, strategy: str) -> tuple[str, str]:
    """The key to serve and why (`--format`, or the strategy that selected it)."""
    keys = servable(package)
    if not keys:
        raise UsageError(f"{package.path}: no decode-step format passed its generation check, so none can be served")
    if key is not None:
        if key not in keys:
            raise UsageError(
                f"{package.path}: {key} has no decode step that passed its generation check; "
                f"servable: {', '.join(keys)}"
            )
        return key, "--format"
    wanted = EQUIVALENT.get(strategy, strategy)
    if wanted not in STRATEGIES:
        raise UsageError(
            f"{package.path}: --strategy {strategy} does not apply to a decoder; use {' or '.join(STRATEGIES)}"
        )
    if wanted not in package.status.selection:  # generation was checked, not measured: nothing to rank
        return keys[0], f"no generation figures to select on, the first of {', '.join(keys)}"
    chosen = package.status.selection[wanted]
    if chosen not in keys:
        raise UsageError(f"{package.path}: strategy '{wanted}' selected no servable decode step; use --format KEY")
    return chosen, f"selection {wanted}"


def decode_step_loader(package: Any, key: str) -> Callable[[], Decoder]:
    """Builds one Decoder (its own session or compiled model) over the key's decode-step artifact."""
    from navctl.generation.plan_ext import decode_artifact
    from navctl.generation.runtimes import artifact_step
    from navctl.plan import registry

    info = package.io.decoder
    layout = CacheLayout(layers=info.layers, heads=info.heads, head_dim=info.head_dim, dtype=info.dtype)
    fmt, runner = registry.split_key(key)
    runtime, device = registry.split_runner(runner)
    path = package.root / str(decode_artifact(fmt))
    if not path.exists():
        raise UsageError(f"{package.path}: {key}'s decode step ({decode_artifact(fmt)}) is not in the package")
    threads = int(getattr(package.status.environment, "threads", 0) or 0)

    def make() -> Decoder:
        step = artifact_step(runtime, path, layout, threads, device)
        return Decoder(step, layout, eos=None, max_new_tokens=MAX_NEW_TOKENS)

    return make


def serve_decoder(package: Any, options: Any, ready: Callable[[str], None], say: Callable[[str], None], stop) -> None:
    """`navctl serve` on a decoder package: the generate endpoint until `stop` is set."""
    import sys

    from navctl.generation.serving import running

    asked = batching_asked(options)
    for flag, given in asked.items():
        if flag.startswith("--") and given:
            raise UsageError(f"{flag}: a decoder's generate requests are never batched (each runs with its own cache)")
    key, why = choose(package, options.key, options.strategy)
    make = decode_step_loader(package, key)
    decoders = [make() for _ in range(asked["instances"])]
    name = options.name or package.status.recipe.name
    say(f"decoder: greedy generation in the server over {key} ({why}), one request at a time per instance")
    with running(name, decoders, options, key) as names:
        ready(
            f"serving {name} ({key}) generate on http://{options.address}:{options.http_port} and "
            f"grpc {options.address}:{options.grpc_port}, token stream {names[1]} on grpc; Ctrl-C stops"
        )
        sys.stdout.flush()
        stop.wait()
