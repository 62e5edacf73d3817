"""Held services: a service held (after a revert, or by hand) is bumped by no train until
released. The holds live on the ledger branch in ``holds.json``; every change is recorded
in the history kept in the same file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

HOLDS_PATH = "holds.json"


@dataclass(frozen=True)
class Hold:
    service: str
    train: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class Holds:
    held: tuple[Hold, ...] = ()
    history: tuple[tuple[str, str, str, str, str], ...] = ()  # (at, event, service, train, who)

    def services(self) -> frozenset[str]:
        return frozenset(h.service for h in self.held)

    def of_train(self, train_id: str) -> tuple[Hold, ...]:
        return tuple(h for h in self.held if h.train == train_id)


def hold(holds: Holds, services: Iterable[str], train: str, reason: str, now: datetime) -> Holds:
    """Add holds (a service already held keeps its first hold)."""
    held = list(holds.held)
    history = list(holds.history)
    for service in services:
        if service in {h.service for h in held}:
            continue
        held.append(Hold(service, train, reason, now))
        history.append((now.isoformat(), "held", service, train, "release-train"))
    return replace(holds, held=tuple(held), history=tuple(history))


def release(holds: Holds, train: str, who: str, now: datetime) -> Holds:
    """Release every hold a train caused."""
    gone = [h for h in holds.held if h.train == train]
    history = [
        *holds.history,
        *((now.isoformat(), "released", h.service, train, who) for h in gone),
    ]
    return Holds(tuple(h for h in holds.held if h.train != train), tuple(history))


def encode(holds: Holds) -> str:
    raw = {
        "held": [
            {
                "service": h.service,
                "train": h.train,
                "reason": h.reason,
                "since": h.since.isoformat(),
            }
            for h in holds.held
        ],
        "history": [list(e) for e in holds.history],
    }
    return json.dumps(raw, sort_keys=True, indent=2) + "\n"


def decode(text: str | None) -> Holds:
    raw: Mapping[str, Any] = json.loads(text) if text and text.strip() else {}
    held = tuple(
        Hold(str(h["service"]), str(h["train"]), str(h.get("reason", "")),
             datetime.fromisoformat(str(h["since"]).replace(" ", "T")))
        for h in raw.get("held") or ()
    )  # fmt: skip
    history = tuple(tuple(str(x) for x in e) for e in raw.get("history") or ())
    return Holds(held, history)  # type: ignore[arg-type]


def resume_requests(comments: Iterable[Any], hold: Hold, bot_login: str) -> list[tuple[str, int]]:
    """Every `/train resume` comment (author, comment id) made after `hold` began, not by
    the bot, oldest first; the caller checks each author's permission."""
    from bot.core.chatops import MAX_PER_COMMENT, parse_commands

    since = hold.since.replace(microsecond=0)
    found = []
    for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
        if comment.author == bot_login or comment.created_at < since:
            continue
        if any(c.name == "resume" for c in parse_commands(comment.body, MAX_PER_COMMENT)):
            found.append((comment.author, comment.id))
    return found
