"""A transport's view of what a reconcile returned: train ids, states, actions, next due.

The shell's `ReconcileResult` (actions planned and done, trains) is read through its
attributes only, so the transports depend on its shape and not its module. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.deploy_events import DeployEvent, recent_events
from bot.core.ledger import TrainRecord


@dataclass(frozen=True)
class TrainView:
    id: str
    state: str


@dataclass(frozen=True)
class ResultView:
    trains: tuple[TrainView, ...] = ()
    actions: tuple[str, ...] = ()  # described actions done (or planned, in a dry run)
    next_due: datetime | None = None
    problems: tuple[str, ...] = ()
    requests: int = 0
    waiting: str = ""  # a held promotion waits on `evidence` or `prometheus`
    events: tuple[DeployEvent, ...] = ()  # recent trains' deployment events (bump, revert...)

    @property
    def train(self) -> TrainView | None:
        """The train the outputs talk about: the newest non-terminal one, else the newest."""
        live = [t for t in self.trains if t.state not in ("completed", "rolled_back", "aborted")]
        pool = live or list(self.trains)
        return max(pool, key=lambda t: t.id) if pool else None

    def seconds_until_due(self, now: datetime) -> float | None:
        if self.next_due is None:
            return None
        return max(0.0, (self.next_due - now).total_seconds())


def _describe(action: Any) -> str:
    describe = getattr(action, "describe", None)
    return str(describe()) if callable(describe) else str(action)


def _train(item: Any) -> TrainView:
    """A train given as an `(id, state)` pair or an object with `id` and `state`."""
    if isinstance(item, tuple) and len(item) == 2:
        return TrainView(str(item[0]), str(item[1]))
    return TrainView(str(getattr(item, "id", "")), str(getattr(item, "state", "")))


def view(result: object, *, dry_run: bool = False) -> ResultView:
    """Read a reconcile result (or None) into a `ResultView`."""
    if result is None:
        return ResultView()
    trains = tuple(_train(t) for t in getattr(result, "trains", ()) or ())
    which = "actions_planned" if dry_run else "actions_done"
    actions = tuple(_describe(a) for a in getattr(result, which, ()) or ())
    due = getattr(result, "next_due", None)
    problems = tuple(str(p) for p in getattr(result, "problems", ()) or ())
    requests = getattr(result, "requests", 0)
    return ResultView(
        trains,
        actions,
        due if isinstance(due, datetime) else None,
        problems,
        requests if isinstance(requests, int) else 0,
        str(getattr(result, "waiting", "") or ""),
        recent_events(_records(result)),
    )


def _records(result: object) -> list[TrainRecord]:
    """The train records a reconcile read, each replaced by the last one it wrote (a train
    that ended in this reconcile is not read again: its last record is in its write)."""
    found = {r.id: r for r in getattr(result, "records", ()) or () if isinstance(r, TrainRecord)}
    for performed in getattr(result, "performed", ()) or ():
        for action in performed:
            record = getattr(action, "record", None)
            if isinstance(record, TrainRecord):
                found[record.id] = record
    return list(found.values())
