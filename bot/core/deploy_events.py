"""Deployment events of recent trains, for dashboards to annotate from. Pure.

Read from what the ledger already records: each train's `history` (one `Event` per
transition). A dashboard wants a few kinds of moments: when a stage was bumped, completed,
or could not be written; when the train was merged, held, resumed, reverted, aborted or
completed. Each becomes one `DeployEvent` (train, stage, event, at), the latest of its kind.

`stage` is the stage the event is about: the stage bumped or completed, the step that failed
(from the promotion state), else the stage the train was promoting when it happened (the
last one bumped), "" before the first bump.

Bounded for metrics: the `RECENT_TRAINS` trains of a repository with the newest events, at most
`MAX_PER_TRAIN` distinct (stage, event) pairs each, so one repository exports at most
5 x 32 = 160 series, whatever its history or its configuration's stage names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core import promotion as pm
from bot.core.ledger import TrainRecord

RECENT_TRAINS = 5
MAX_PER_TRAIN = 32

# ledger history event -> the event a dashboard shows
BUMP = "bump"
COMPLETE = "complete"
REVERT = "revert"
HOLD = "hold"
_KINDS = {
    "stage-started": BUMP,
    "stage-completed": COMPLETE,
    "stage-failed": "fail",
    "merged": "merge",
    "hold": HOLD,
    "resume": "resume",
    "rolled-back": REVERT,
    "aborted": "abort",
    "completed": "train_complete",
}
EVENTS = tuple(dict.fromkeys(_KINDS.values()))
_NAMES_A_STAGE = frozenset({"stage-started", "stage-completed"})  # the detail is the stage


@dataclass(frozen=True)
class DeployEvent:
    train: str
    stage: str
    event: str  # one of EVENTS
    at: datetime

    @property
    def timestamp(self) -> float:
        return self.at.timestamp()


def train_events(record: TrainRecord) -> tuple[DeployEvent, ...]:
    """The latest event of each (stage, event) pair of one train, oldest first (at most
    `MAX_PER_TRAIN` pairs: the latest ones)."""
    latest: dict[tuple[str, str], DeployEvent] = {}
    stage = ""
    failed = _failed_step(record)
    for entry in record.history:
        kind = _KINDS.get(entry.event)
        if kind is None:
            continue
        if entry.event in _NAMES_A_STAGE:
            stage = entry.detail.strip()
        where = (failed or stage) if entry.event == "stage-failed" else stage
        key = (where, kind)
        latest.pop(key, None)  # re-inserted last: the dict stays in time order
        latest[key] = DeployEvent(record.id, where, kind, entry.at)
    events = sorted(latest.values(), key=lambda e: e.at)
    return tuple(events[-MAX_PER_TRAIN:])


def _failed_step(record: TrainRecord) -> str:
    """The step a `stage-failed` is about: its detail is only the reason, the promotion
    state names the step (read, never changed)."""
    promotion = pm.Promotion.from_json(record.extra.get(pm.KEY))
    return next((s.name for s in reversed(promotion.steps) if s.status == pm.FAILED), "")


def keep_recent(
    by_train: Mapping[str, Sequence[DeployEvent]], recent: int = RECENT_TRAINS
) -> dict[str, tuple[DeployEvent, ...]]:
    """The `recent` trains whose latest event is newest (ties: the greater id), each with
    its events."""
    ranked = sorted(
        ((max(e.at for e in events), train) for train, events in by_train.items() if events),
    )
    keep = {train for _, train in ranked[-recent:]} if recent > 0 else set()
    return {train: tuple(by_train[train]) for train in sorted(keep)}


def recent_events(
    records: Iterable[TrainRecord], recent: int = RECENT_TRAINS
) -> tuple[DeployEvent, ...]:
    """The events of the `recent` trains with the newest events, oldest event first."""
    by_train = {record.id: train_events(record) for record in records}
    kept = keep_recent(by_train, recent)
    return tuple(sorted((e for events in kept.values() for e in events), key=_order))


def _order(event: DeployEvent) -> tuple[datetime, str, str, str]:
    return (event.at, event.train, event.stage, event.event)
