"""Durations as people write them: `90s`, `30m`, `1h30m`, `2h`, or a plain number of seconds."""

from __future__ import annotations

import re
from typing import Any

_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|s|m|h)")
_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Return seconds; raise ValueError for anything else or for a duration that is not positive."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as '90s' or '30m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif text and _PART_RE.sub("", text) == "":
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART_RE.findall(text))
        else:
            raise ValueError(f"'{value}' is not a duration; write e.g. '90s', '30m' or '1h30m'")
    else:
        raise ValueError("a duration is a number of seconds or a string such as '90s' or '30m'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?$", re.I)
_SIZE_UNITS = {
    "b": 1,
    "k": 1 << 10,
    "kb": 10**3,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 10**6,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 10**9,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 10**12,
    "tib": 1 << 40,
}


def parse_size(value: Any) -> int:
    """Bytes from `4GiB`, `512MiB`, `2G` (binary), `1.5GB` (decimal) or a plain number of bytes."""
    if isinstance(value, bool):
        raise ValueError("a size is a number of bytes or a string such as '4GiB'")
    if isinstance(value, (int, float)):
        size = int(value)
    elif isinstance(value, str) and (match := _SIZE_RE.match(value.strip())):
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    else:
        raise ValueError(f"'{value}' is not a size; write e.g. '4GiB' or '512MiB'")
    if size <= 0:
        raise ValueError("a size must be positive")
    return size


def format_size(size: int) -> str:
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"
