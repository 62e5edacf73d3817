"""What every gate shares: the result value, annotations, the `Gate` protocol, helpers.

A gate is pure: it takes the facts an adapter fetched (its own frozen dataclass), its
settings (its own frozen dataclass, built from the config mapping) and `now`, and returns a
`GateResult`. It never raises for bad facts: an unavailable source is its own conclusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

from bot.config.durations import parse_duration
from bot.config.repo import CONFIG_PATH
from bot.errors import ConfigError, Problem

Conclusion = Literal["success", "failure", "neutral", "action_required", "in_progress"]
Level = Literal["notice", "warning", "failure"]

CONCLUSIONS: tuple[Conclusion, ...] = (
    "success",
    "failure",
    "neutral",
    "action_required",
    "in_progress",
)
# Which conclusion wins when a gate combines several findings (most serious first).
_SEVERITY_ORDER: tuple[Conclusion, ...] = (
    "failure",
    "action_required",
    "in_progress",
    "neutral",
    "success",
)


@dataclass(frozen=True)
class Annotation:
    """A finding at a file and line, shown on the check run and in "Files changed"."""

    path: str
    start_line: int
    end_line: int
    annotation_level: Level
    message: str
    title: str = ""


@dataclass(frozen=True)
class GateResult:
    """What a gate concluded, how to show it, and when to look again."""

    gate: str
    conclusion: Conclusion
    title: str
    summary: str
    annotations: tuple[Annotation, ...] = ()
    recheck_after: timedelta | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.conclusion not in CONCLUSIONS:
            raise ValueError(f"unknown gate conclusion {self.conclusion!r}")


class Gate(Protocol):
    """A gate: a name and a pure evaluation."""

    name: str

    def evaluate(self, facts: Any, settings: Any, now: Any) -> GateResult: ...


def worst(conclusions: Sequence[Conclusion]) -> Conclusion:
    """The most serious of several conclusions; `success` when there are none."""
    for candidate in _SEVERITY_ORDER:
        if candidate in conclusions:
            return candidate
    return "success"


def earliest(*deltas: timedelta | None) -> timedelta | None:
    """The soonest recheck among several (None = no recheck needed)."""
    present = [d for d in deltas if d is not None]
    return max(min(present), timedelta(0)) if present else None


def md_cell(value: object) -> str:
    """One Markdown table cell: pipes escaped, newlines flattened, no raw HTML (cells hold
    names others chose: check runs, files, alerts); see `bot.core.untrusted.table_text`."""
    from bot.core.untrusted import table_text

    return table_text(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (empty string when there are no rows)."""
    if not rows:
        return ""
    lines = ["| " + " | ".join(md_cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def link(text: str, url: str | None) -> str:
    """A Markdown link, or the plain text when there is no URL."""
    return f"[{text}]({url})" if url else text


def as_duration(value: object, what: str) -> timedelta:
    """A setting that is a duration: a `timedelta`, seconds, or text like ``90s``/``1h30m``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise config_error(f"{what}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise config_error(f"{what}: {exc}") from None
    raise config_error(f"{what}: {value!r} is not a duration like 90s, 15m, 1h30m, 2d")


def as_str_tuple(value: object, what: str) -> tuple[str, ...]:
    """A setting that is a list of strings (a single string is a list of one)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise config_error(f"{what}: expected a list of strings, got {value!r}")


def choice(value: object, allowed: Sequence[str], what: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise config_error(f"{what}: {value!r} is not one of {', '.join(allowed)}")
    return value


def settings_keys(mapping: Mapping[str, object], allowed: Sequence[str], gate: str) -> None:
    """Refuse keys a gate does not know (the schema does the same, with positions)."""
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise config_error(f"gates.{gate}: unknown setting(s) {', '.join(unknown)}")


def config_error(message: str) -> ConfigError:
    """A gate setting that is wrong; the schema reports the same with a position."""
    return ConfigError(Problem(message, file=CONFIG_PATH))


def as_bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise config_error(f"{what}: expected true or false, got {value!r}")
    return value


def as_number(value: object, what: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise config_error(f"{what}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)
