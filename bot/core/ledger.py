"""Train records as the ledger stores them, and ledger commit messages with trailers.

Each train is one file ``trains/<train-id>.json`` on the ledger branch; its JSON is stable
(sorted keys, 2-space indent, trailing newline) so that an unchanged record is an unchanged
blob. Every transition is one commit ``<event>: <train-id>`` followed by trailers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from bot.core.train import BOARDING

TRAINS_DIR = "trains"


@dataclass(frozen=True)
class Boarded:
    """A PR riding (or about to ride) a train."""

    number: int
    labeled_at: datetime
    title: str = ""
    author: str = ""
    labels: tuple[str, ...] = ()
    head_sha: str = ""


@dataclass(frozen=True)
class Missed:
    """A PR that could not ride, and why (``conflict``, ``checks``, ``draft``, ``approval``...)."""

    number: int
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Event:
    event: str
    at: datetime
    actor: str = ""
    detail: str = ""


@dataclass(frozen=True)
class TrainRecord:
    """Everything the bot knows about one train; the ledger file is this, as JSON."""

    id: str
    train: str
    state: str = BOARDING
    created_at: datetime | None = None
    state_since: datetime | None = None
    emergency: bool = False
    boarded: tuple[Boarded, ...] = ()
    missed: tuple[Missed, ...] = ()
    notified: tuple[int, ...] = ()  # PRs told they boarded
    missed_notified: tuple[int, ...] = ()  # PRs told they missed
    landed: tuple[int, ...] = ()  # boarded PRs merged/closed on GitHub after the train merged
    held: bool = False
    hold_reason: str = ""
    depart_requested: str = ""  # who asked for `/train depart`
    promote_requested: str = ""  # who asked for `/train promote` (for the promotion issue)
    rollback_requested: str = ""
    base_sha: str = ""
    release_branch: str = ""
    release_sha: str = ""
    train_pr: int = 0
    merge_sha: str = ""
    approved_by: tuple[str, ...] = ()
    end_reason: str = ""
    handled_comments: tuple[int, ...] = ()
    history: tuple[Event, ...] = field(default=())
    # state owned by later stages (promotion, SLO judgement, revert), as plain JSON values,
    # e.g. {"promotion": {"stage": "canary", ...}}; kept as is by the lifecycle
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return record_path(self.id)

    def boarded_numbers(self) -> tuple[int, ...]:
        return tuple(b.number for b in self.boarded)

    def with_event(
        self, event: str, at: datetime, actor: str = "", detail: str = ""
    ) -> TrainRecord:
        return replace(self, history=(*self.history, Event(event, at, actor, detail)))


def record_path(train_id: str) -> str:
    return f"{TRAINS_DIR}/{train_id}.json"


def _to_plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _to_plain(getattr(value, f.name)) for f in fields(value)}
    return value


def encode(record: TrainRecord) -> str:
    """The record as stable JSON text (sorted keys, 2-space indent, trailing newline)."""
    return json.dumps(_to_plain(record), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _boarded(raw: dict[str, Any]) -> Boarded:
    return Boarded(
        number=int(raw["number"]),
        labeled_at=datetime.fromisoformat(raw["labeled_at"]),
        title=raw.get("title", ""),
        author=raw.get("author", ""),
        labels=tuple(raw.get("labels", ())),
        head_sha=raw.get("head_sha", ""),
    )


def decode(text: str) -> TrainRecord:
    """Parse a ledger file; unknown keys are ignored so newer bots can add fields."""
    raw = json.loads(text)
    known = {f.name for f in fields(TrainRecord)}
    plain = {k: v for k, v in raw.items() if k in known}
    tuples = ("notified", "missed_notified", "landed", "approved_by", "handled_comments")
    for key in tuples:
        plain[key] = tuple(plain.get(key, ()))
    plain["created_at"] = _dt(plain.get("created_at"))
    plain["state_since"] = _dt(plain.get("state_since"))
    plain["boarded"] = tuple(_boarded(b) for b in plain.get("boarded", ()))
    plain["missed"] = tuple(Missed(**m) for m in plain.get("missed", ()))
    plain["extra"] = dict(plain.get("extra") or {})
    plain["history"] = tuple(
        Event(e["event"], datetime.fromisoformat(e["at"]), e.get("actor", ""), e.get("detail", ""))
        for e in plain.get("history", ())
    )
    return TrainRecord(**plain)


# -- commit messages ---------------------------------------------------------------------


def commit_message(event: str, train_id: str, trailers: Sequence[tuple[str, str]]) -> str:
    """``<event>: <train-id>``, a blank line, then ``Key: value`` trailers."""
    lines = [f"{key}: {' '.join(value.split())}" for key, value in trailers]
    return f"{event}: {train_id}\n\n" + "\n".join(lines) + "\n"


def parse_commit_message(message: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """Inverse of `commit_message`: (event, train id, trailers)."""
    subject, _, rest = message.partition("\n")
    event, _, train_id = subject.partition(": ")
    paragraphs = [p for p in rest.strip().split("\n\n") if p.strip()]
    trailers: list[tuple[str, str]] = []
    for line in (paragraphs[-1] if paragraphs else "").splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            trailers.append((key, value.strip()))
    return event, train_id.strip(), tuple(trailers)


def _refs(numbers: Sequence[int]) -> str:
    return " ".join(f"#{n}" for n in numbers)


def transition_trailers(
    events: Sequence[str],
    record: TrainRecord,
    *,
    actor: str = "",
    delivery: str | None = None,
) -> list[tuple[str, str]]:
    """The trailers of one ledger commit: id, events, actor, delivery, then event details."""
    trailers = [("Train-Id", record.id)]
    trailers += [("Event", e) for e in events]
    trailers.append(("Actor", actor or "release-train"))
    if delivery:
        trailers.append(("Delivery", delivery))
    trailers.append(("State", record.state))
    if record.boarded:
        trailers.append(("Boarded", _refs(record.boarded_numbers())))
    for missed in record.missed:
        trailers.append(("Missed", f"#{missed.number} {missed.reason}"))
    if record.train_pr:
        trailers.append(("Train-PR", f"#{record.train_pr}"))
    if record.merge_sha:
        trailers.append(("Merge-Sha", record.merge_sha))
    if record.approved_by:
        trailers.append(("Approved-By", " ".join(record.approved_by)))
    if record.end_reason:
        trailers.append(("Reason", record.end_reason))
    return trailers


# -- the ledger as a whole -----------------------------------------------------------------

INDEX_PATH = "index.json"


@dataclass(frozen=True)
class Ledger:
    """The records the bot loaded (open trains, plus ended ones still worth a look) and
    every train id the ledger knows (for picking new ids)."""

    records: tuple[TrainRecord, ...] = ()
    known_ids: frozenset[str] = frozenset()

    def record(self, train_id: str) -> TrainRecord | None:
        return next((r for r in self.records if r.id == train_id), None)


def index_entry(record: TrainRecord) -> dict[str, Any]:
    return {"state": record.state, "train": record.train, "train_pr": record.train_pr}


def encode_index(entries: dict[str, dict[str, Any]]) -> str:
    """``index.json``: train id -> state, line and train PR, so readers skip ended trains."""
    return json.dumps(entries, sort_keys=True, indent=2) + "\n"


def decode_index(text: str) -> dict[str, dict[str, Any]]:
    raw = json.loads(text) if text.strip() else {}
    return {str(k): dict(v) for k, v in raw.items()}
