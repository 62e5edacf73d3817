"""What every per-state function of `bot.core.decide` shares: the context (`Ctx`), when a
train departs, its deadlines, state transitions and the one ledger write per record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.config.model import Config, Train
from bot.core import actions as act
from bot.core.calendar import next_departure
from bot.core.chatops import TrainCommand
from bot.core.ledger import TrainRecord
from bot.core.train import ABORTED, MERGED, PROMOTING, is_terminal
from bot.core.world import World

Action = act.Action


@dataclass
class Ctx:
    """What every per-state function needs (built once per decide)."""

    config: Config
    train: Train
    world: World
    now: datetime
    riding: dict[int, str]  # PR -> id of the open train it rides
    commands: dict[str, list[TrainCommand]] = field(default_factory=dict)
    # train id -> facts by gate name, as `bot.shell.gate_facts` gathered them this reconcile
    gate_facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


# -- helpers ------------------------------------------------------------------------------


def required_checks(config: Config) -> tuple[str, ...]:
    """`gates.ci.required`: check names (or fnmatch patterns) that must pass."""
    required = config.gates.ci.get("required") or ()
    return tuple(str(n) for n in required) if isinstance(required, list | tuple) else ()


def departs_at(config: Config, train: Train, record: TrainRecord) -> datetime | None:
    """When this train departs: the first cadence time after it was created that no freeze
    cancels (at once for an emergency train); None when no departure is in sight."""
    created = record.created_at
    if created is None:
        return None
    if record.emergency:
        return created
    departure = next_departure(train, config.freezes, created)
    return departure.at if departure is not None else None


def transition(
    record: TrainRecord, state: str, now: datetime, actor: str = "", detail: str = ""
) -> TrainRecord:
    return replace(record, state=state, state_since=now).with_event(state, now, actor, detail)


# The most telling event names the ledger commit; the others follow as trailers.
EVENT_ORDER = (
    "abort",
    "merge",
    "depart",
    "open-pr",
    "land",
    "hold",
    "resume",
    "depart-requested",
    "promote-requested",
    "rollback-requested",
    "board",
    "deboard",
    "notify",
    "chatops",
)


def write_record(
    before: TrainRecord | None, after: TrainRecord, events: list[str], actor: str = ""
) -> list[Action]:
    if before == after:
        return []
    if before is None:
        events = ["create", *events]
    rank = {name: i for i, name in enumerate(("create", *EVENT_ORDER))}
    ordered = sorted(dict.fromkeys(events), key=lambda e: rank.get(e, len(rank)))
    return [act.WriteLedger(after.id, tuple(ordered) or ("update",), after, actor)]


def abort(
    record: TrainRecord, reason: str, now: datetime, actor: str = "", detail: str = ""
) -> TrainRecord:
    record = replace(record, end_reason=reason)
    return transition(record, ABORTED, now, actor, detail)


def deadline_of(config: Config, train: Train, state: str) -> timedelta | None:
    """How long a train of `train` may stay in `state` (`trains[].deadlines`, else the
    defaults). `merged` and `promoting` have one only where promotion is configured:
    without it a merged train rests in `merged`, nothing left to do."""
    if state in (MERGED, PROMOTING):
        from bot.core.promotion import configured

        if not configured(config):
            return None
    return None if is_terminal(state) else train.deadline(state)


def deadline_passed(config: Config, train: Train, record: TrainRecord, now: datetime) -> bool:
    limit = deadline_of(config, train, record.state)
    since = record.state_since or record.created_at
    return limit is not None and since is not None and now - since > limit
