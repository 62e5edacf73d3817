"""Durations as people write them in configs: `90s`, `15m`, `1h30m`, `2d`, `1w`."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
# The units must come in this order, each at most once: 1w2d3h4m5s.
PATTERN = r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"
_WHOLE = re.compile(PATTERN)
MAX_SECONDS = 10 * 365 * 86400


def parse_duration(text: str) -> timedelta:
    """Parse `90s`, `15m`, `1h30m`, `2d`, `1w` (units w d h m s, in that order).

    Raises ValueError with a message fit for a user when the text is not a duration.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 15m, 1h30m, 2d or 1w")
    cleaned = text.strip()
    if not cleaned or not _WHOLE.match(cleaned):
        raise ValueError(f"{text!r} is not a duration; write it like 90s, 15m, 1h30m, 2d or 1w")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(cleaned))
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text!r} is longer than ten years")
    return timedelta(seconds=seconds)


def format_duration(td: timedelta) -> str:
    """The shortest text that `parse_duration` reads back as `td` (whole seconds)."""
    seconds = int(td.total_seconds())
    if seconds < 0:
        raise ValueError("negative durations cannot be written")
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)
