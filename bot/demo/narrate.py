"""Narration: one line per event, stamped with its virtual time.

Pure formatting (`Line`, `render`, `bot_lines`) and a small `Narrator` that collects the
lines and, when given a stream, writes each as it happens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

WIDTH = 110
_RECORD = re.compile(r"^record (?P<events>.+) for (?P<train>\S+) \(state (?P<state>[a-z_]+)\)$")
_BARE_RECORD = re.compile(r"^record (?P<event>[a-z-]+) for (?P<train>\S+)$")


@dataclass(frozen=True)
class Line:
    at: datetime
    who: str  # "bot", a sandbox user, "ci", "demo"
    text: str
    kind: str = "event"  # "event", "note" (an honest remark), "check" (a failed expectation)

    def as_json(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "who": self.who, "text": self.text, "kind": self.kind}


def _short(text: str, width: int = WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render(line: Line) -> str:
    """``Mon 09:00  bot         departed ...`` (the virtual day and time)."""
    mark = {"note": "ℹ ", "check": "✗ "}.get(line.kind, "")
    return f"{line.at:%a %H:%M}  {line.who:<11} {mark}{_short(line.text)}"


def describe_action(text: str) -> str:
    """A reconcile action in words; ledger writes read as transitions."""
    match = _RECORD.match(text)
    if match is None:
        return text
    events = match["events"].replace(", ", " + ")
    return f"ledger: {match['train']} {events} → {match['state']}"


def with_details(text: str, details: dict[tuple[str, str], list[str]]) -> str:
    """A ``record <event> for <train>`` action with the detail the ledger recorded for that
    event (taken from `details`, keyed by (train, event), first come first served)."""
    match = _BARE_RECORD.match(text)
    if match is None:
        return describe_action(text)
    queue = details.get((match["train"], match["event"])) or []
    detail = queue.pop(0) if queue else ""
    return f"ledger: {match['train']} {match['event']}" + (f": {detail}" if detail else "")


def bot_lines(
    at: datetime,
    actions_done: Iterable[str],
    problems: Iterable[str],
    details: dict[tuple[str, str], list[str]] | None = None,
) -> list[Line]:
    """What one reconcile did, one line per side effect, and what went wrong."""
    lines = [Line(at, "bot", with_details(a, details or {})) for a in actions_done]
    lines += [Line(at, "bot", f"problem: {p}", "note") for p in problems]
    return lines


@dataclass
class Narrator:
    """Collects lines; prints each to `stream` as it comes, if one is given."""

    stream: TextIO | None = None
    lines: list[Line] = field(default_factory=list)

    def add(self, lines: Iterable[Line]) -> None:
        for line in lines:
            self.lines.append(line)
            if self.stream is not None:
                print(render(line), file=self.stream, flush=True)

    def say(self, at: datetime, who: str, text: str, kind: str = "event") -> None:
        self.add([Line(at, who, text, kind)])

    def failures(self) -> list[str]:
        return [line.text for line in self.lines if line.kind == "check"]
