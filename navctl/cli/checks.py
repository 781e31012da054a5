"""Option values checked the way recipes are: a bad value is one line, `--option VALUE: what is wrong`
(exit 2), raised before a command reads a package or starts anything. Ranges a single number can carry
are Typer's own (`min=`/`max=` in options.py); what needs parsing or compares two options is here."""

from __future__ import annotations

import ipaddress
import json
import math
import re

from navctl.errors import UsageError, suggest

# More load levels than any load test measures in a day (each takes up to --duration): a range such as
# 1:1e9 is a typo, and listing it would exhaust memory before it measured anything.
MAX_LEVELS = 1000
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def bad(option: str, value: object, problem: str, hint: str | None = None) -> UsageError:
    return UsageError(f"{option} {value}: {problem}", hint=hint)


def duration(text: str, option: str) -> float:
    """Seconds from '90s', '20ms', '1h30m' or a bare number; positive and finite."""
    from navctl.recipe.units import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise bad(option, text, str(exc)) from None
    if not math.isfinite(seconds):
        raise bad(option, text, "a duration must be finite")
    return seconds


def levels(text: str, option: str, *, whole: bool, zero_ok: bool = False) -> list:
    """'1,2,4,8' or 'START:END[:STEP]' (perf_analyzer's range; STEP defaults to START): distinct finite
    values above 0 (or at least 0 with `zero_ok`); `whole`: integers only, returned as int."""
    kind = "whole numbers" if whole else "numbers"
    try:
        values = _range(text, option, zero_ok) if ":" in text else [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise bad(option, text, f"expected {kind} such as 1,2,4 or START:END:STEP") from None
    if not values:
        raise bad(option, text, f"expected {kind} such as 1,2,4")
    if len(values) > MAX_LEVELS:
        raise bad(option, text, f"{len(values):,} levels; at most {MAX_LEVELS} are measured")
    for value in values:
        if not math.isfinite(value):
            raise bad(option, text, f"{value} is not a number")
        if value < 0 or (value == 0 and not zero_ok):
            raise bad(option, text, f"{value:g} is not {'at least 0' if zero_ok else 'above 0'}")
        if whole and value != int(value):
            raise bad(option, text, f"{value:g} is not a whole number")
    if len(set(values)) != len(values):
        raise bad(option, text, f"{next(v for v in values if values.count(v) > 1):g} is listed twice")
    return [int(v) for v in values] if whole else values


def _range(text: str, option: str, zero_ok: bool) -> list[float]:
    parts = [float(v) for v in text.split(":")]
    if len(parts) not in (2, 3):
        raise bad(option, text, "a range is START:END or START:END:STEP")
    start, end, *step = parts
    stride = step[0] if step else start
    low_ok = start >= 0 if zero_ok else start > 0
    if not all(math.isfinite(v) for v in parts) or not low_ok or stride <= 0 or end < start:
        first = "0 <= START" if zero_ok else "0 < START"
        raise bad(option, text, f"a range needs {first} <= END and a STEP above 0")
    count = int((end - start) / stride + 1e-9) + 1
    if count > MAX_LEVELS:
        raise bad(option, text, f"a range of {count:,} levels; at most {MAX_LEVELS} are measured")
    return [start + i * stride for i in range(count)]


def percent(text: str, option: str) -> float:
    from navctl.report.diff import parse_percent

    try:
        value = parse_percent(text)
    except ValueError as exc:
        raise bad(option, text, str(exc)) from None
    if not math.isfinite(value):
        raise bad(option, text, "a percentage must be finite")
    return value


def distinct_ports(**ports: int) -> None:
    """Triton listens on each: two the same would fail only once the server starts, with its log."""
    seen: dict[int, str] = {}
    for name, port in ports.items():
        option = "--" + name.replace("_", "-")
        if port in seen:
            raise bad(option, port, f"{seen[port]} is already {port}; each server port must differ")
        seen[port] = option


def listen_address(text: str) -> str:
    """An IP address or a host name to bind to (`0.0.0.0`: every interface)."""
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if re.fullmatch(r"[\d.]+", text) or not _HOSTNAME.match(text):
        raise bad("--address", text, "not an IP address or host name (e.g. 127.0.0.1, 0.0.0.0, localhost)")
    return text


def serving(
    strategy_name: str,
    key: str | None,
    name: str | None,
    max_batch: int | None,
    preferred: list[int],
    dynamic: bool | None,
) -> None:
    """The options triton, serve and loadtest share, checked before the package is read."""
    strategy(strategy_name)
    format_key(key)
    model_name(name)
    batching(max_batch, preferred, dynamic)


def batching(max_batch_size: int | None, preferred: list[int], dynamic_batching: bool | None) -> None:
    """Preferred batch sizes only mean something under dynamic batching (`dynamic_batching` None: neither
    flag given), and within the max batch size (the package's own maximum, when not given, and whether
    the model may merge requests at all are checked where the package is read)."""
    if preferred and dynamic_batching is False:
        raise bad(
            "--preferred-batch-size", preferred[0], "applies to dynamic batching, which --no-dynamic-batching turns off"
        )
    if max_batch_size is not None:
        for size in preferred:
            if size > max_batch_size:
                raise bad("--preferred-batch-size", size, f"above --max-batch-size {max_batch_size}")


def model_name(name: str | None) -> None:
    """A Triton model name is a folder in the model repository."""
    from navctl.triton.repository import MODEL_NAME_RE

    if name is not None and not MODEL_NAME_RE.match(name):
        raise bad("--name", name, "a Triton model name is a letter or digit, then those, '_', '.' and '-'")


def format_key(key: str | None) -> None:
    """FORMAT@RUNNER, both known to navctl and the runner one that runs the format (whether the package
    holds it is checked when it is read)."""
    if key is None:
        return
    from navctl.plan import registry

    try:
        problem = registry.key_problem(key)
    except registry.BadName:
        raise bad("--format", key, "expected FORMAT@RUNNER, e.g. onnx@onnxruntime-cpu") from None
    if problem:
        raise bad("--format", key, problem)


def strategy(name: str) -> None:
    from typing import get_args

    from navctl.profiling.selection import PINNED
    from navctl.recipe.models import StrategyName

    known = [*get_args(StrategyName), PINNED]
    if name not in known:
        raise bad("--strategy", name, f"not one of {', '.join(known)}{suggest(name, known)}")


def ray_address(text: str) -> None:
    """auto, HOST:PORT or ray://HOST:PORT (Ray's own forms)."""
    if text == "auto":
        return
    host, colon, port = text.removeprefix("ray://").rpartition(":")
    if not colon or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise bad("--ray-address", text, "expected auto, HOST:PORT or ray://HOST:PORT (e.g. 10.0.0.5:6379)")


def ray_resources(text: str | None) -> dict[str, float] | None:
    """A JSON object of custom Ray resources, each amount a number >= 0."""
    if text is None:
        return None
    example = 'e.g. {"accelerator_type:H100": 0.001}'
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise bad("--ray-resources", text, f"not JSON ({exc}); {example}") from None
    if not isinstance(value, dict):
        raise bad("--ray-resources", text, f"expected a JSON object, {example}")
    for name, amount in value.items():
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount) or amount < 0:
            raise bad("--ray-resources", text, f"'{name}': the amount must be a number >= 0")
    return value


def request_shape(text: str | None) -> None:
    """`loadtest --shape`: a named shape, or dims per input that parse, before any package is opened."""
    from navctl.contract.shapes import NAMED
    from navctl.loadtest.shape import parse_dims

    if text is not None and text not in NAMED:
        parse_dims(text)
