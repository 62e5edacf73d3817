"""PromQL templates and durations.

A template may use ``{stage}``, ``{service}`` and ``{window}``. Everything else in
braces — label matchers such as ``{code=~"5.."}`` — is PromQL and stays untouched, so
this is a targeted substitution, never ``str.format``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

PLACEHOLDERS = ("stage", "service", "window")
_PLACEHOLDER = re.compile(r"\{(stage|service|window)\}")
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


@lru_cache(maxsize=4096)  # a backtest formats the same few windows ~10 times per tick
def format_duration(value: timedelta) -> str:
    """A Prometheus duration: ``1h``, ``5m``, ``1h30m``, ``2d``; sub-second parts become ms."""
    millis = round(value.total_seconds() * 1000)
    if millis <= 0:
        raise ValueError(f"a Prometheus duration must be positive, not {value}")
    seconds, rest_ms = divmod(millis, 1000)
    parts = []
    for unit, size in _UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    if rest_ms:
        parts.append(f"{rest_ms}ms")
    return "".join(parts)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def render_query(template: str, stage: str, service: str, window: timedelta | str) -> str:
    """Fill ``{stage}``, ``{service}`` and ``{window}`` in a PromQL template.

    `stage` and `service` are escaped for a double-quoted PromQL string (where they
    normally go: ``service="{service}"``); `window` may be a timedelta or a duration text.
    """
    window_text = window if isinstance(window, str) else format_duration(window)
    values = {"stage": _escape(stage), "service": _escape(service), "window": window_text}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def placeholders(template: str) -> frozenset[str]:
    """Which of ``stage``, ``service`` and ``window`` a template uses."""
    return frozenset(m.group(1) for m in _PLACEHOLDER.finditer(template))
