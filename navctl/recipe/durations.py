"""Durations as people write them: `90s`, `30m`, `1h30m`, `2h`, or a plain number of seconds."""

from __future__ import annotations

import re
from typing import Any

_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


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
