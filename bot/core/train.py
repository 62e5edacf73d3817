"""Train states, the transitions between them, and train ids.

A train id is ``<train-name>-YYYY-MM-DD`` with ``.N`` (N >= 2) for a second train the same
day; an emergency train always carries a ``.N`` suffix.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

BOARDING = "boarding"
DEPARTED = "departed"
MERGED = "merged"
PROMOTING = "promoting"
COMPLETED = "completed"
ROLLED_BACK = "rolled_back"
ABORTED = "aborted"

STATES = (BOARDING, DEPARTED, MERGED, PROMOTING, COMPLETED, ROLLED_BACK, ABORTED)
TERMINAL = frozenset({COMPLETED, ROLLED_BACK, ABORTED})

_TRANSITIONS: dict[str, frozenset[str]] = {
    BOARDING: frozenset({DEPARTED, ABORTED}),
    DEPARTED: frozenset({MERGED, ABORTED}),
    # merged and promoting end `aborted` when their deadline passes (promotion stops)
    MERGED: frozenset({PROMOTING, ROLLED_BACK, COMPLETED, ABORTED}),
    PROMOTING: frozenset({COMPLETED, ROLLED_BACK, ABORTED}),
}

_ID = re.compile(r"^(?P<name>.+)-(?P<date>\d{4}-\d{2}-\d{2})(?:\.(?P<n>[0-9]+))?$")


def is_terminal(state: str) -> bool:
    return state in TERMINAL


def can_transition(src: str, dst: str) -> bool:
    return dst in _TRANSITIONS.get(src, frozenset())


@dataclass(frozen=True)
class TrainId:
    name: str
    day: date
    n: int = 1

    def __str__(self) -> str:
        base = f"{self.name}-{self.day.isoformat()}"
        return base if self.n == 1 else f"{base}.{self.n}"


def parse_train_id(text: str) -> TrainId:
    """Parse ``web-2026-03-04`` or ``web-2026-03-04.2``; ValueError when it is not an id."""
    match = _ID.match(text)
    if not match:
        raise ValueError(f"not a train id: {text!r}")
    n = int(match["n"]) if match["n"] else 1
    return TrainId(match["name"], date.fromisoformat(match["date"]), n)


def new_train_id(name: str, day: date, taken: Collection[str], *, emergency: bool = False) -> str:
    """The first free id for train line `name` on `day` (emergency trains always get ``.N``)."""
    n = 2 if emergency else 1
    while True:
        candidate = str(TrainId(name, day, n))
        if candidate not in taken:
            return candidate
        n += 1
