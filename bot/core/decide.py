"""The pure heart: (config, ledger, world, now) -> the actions to take, as data.

`decide` dispatches each open train to a small function per state; each returns side-effect
actions followed by one `WriteLedger` when the record changed. `merged` returns no actions
beyond landing the boarded PRs: promotion is a later seam.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core.boarding import wants_train
from bot.core.calendar import cutover_open
from bot.core.chatops import Command, pending_commands
from bot.core.culprit import wake_at as culprit_wake_at
from bot.core.decide_base import (
    Action,
    Ctx,
    abort,
    deadline_of,
    deadline_passed,
    departs_at,
    write_record,
)
from bot.core.decide_boarding import decide_boarding, new_record, unready_emergencies
from bot.core.decide_commands import run_commands
from bot.core.decide_departed import decide_aborted, decide_departed
from bot.core.ledger import Ledger, Missed, TrainRecord
from bot.core.merge_rule import Verdict, merge_message, merge_verdict
from bot.core.notes import deadline_notice
from bot.core.notes import duration as notes_duration
from bot.core.train import ABORTED, BOARDING, DEPARTED, MERGED, PROMOTING, is_terminal
from bot.core.world import World

# -- merged (promotion seam) and ended -----------------------------------------------------


def decide_merged(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    """Land each boarded PR (merged on GitHub, or closed with a link); promotion itself is
    `bot.shell.promote`. Past its deadline the train stops (`_stop_at_deadline`)."""
    record, actions, events, actor = run_commands(ctx, record)
    actions += _land(ctx, record, events)
    record = _landed(record, actions)
    record, stop = _stop_at_deadline(ctx, record, events)
    return (
        actions + stop + write_record(before, record, events, actor) + _after(ctx, record, events)
    )


def decide_promoting(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    """ChatOps (hold, promote, rollback are read by `bot.shell.promote`) and the deadline."""
    record, actions, events, actor = run_commands(ctx, record)
    record, stop = _stop_at_deadline(ctx, record, events)
    return (
        actions + stop + write_record(before, record, events, actor) + _after(ctx, record, events)
    )


def _after(ctx: Ctx, record: TrainRecord, events: list[str]) -> list[Action]:
    """What follows the record of a train stopped at its deadline just now (at most once:
    `bot.core.promotion_check.deadline_effects`)."""
    from bot.core.promotion_check import deadline_effects

    return deadline_effects(ctx.config, record) if "abort" in events else []


def _landed(record: TrainRecord, actions: Sequence[Action]) -> TrainRecord:
    numbers = tuple(a.number for a in actions if isinstance(a, act.LandPullRequest))
    return replace(record, landed=(*record.landed, *numbers)) if numbers else record


def _land(ctx: Ctx, record: TrainRecord, events: list[str]) -> list[Action]:
    actions: list[Action] = []
    for entry in record.boarded:
        if entry.number in record.landed:
            continue
        link = f"#{record.train_pr}" if record.train_pr else record.id
        comment = f"🚆 Shipped in release train **{record.id}** ({link})."
        actions.append(act.LandPullRequest(record.id, entry.number, entry.head_sha, comment))
        events.append("land")
    return actions


def _stop_at_deadline(
    ctx: Ctx, record: TrainRecord, events: list[str]
) -> tuple[TrainRecord, list[Action]]:
    """A merged or promoting train past its deadline (a held stage too) ends `aborted`
    (reason `deadline`): no further stage is bumped, bumped stages stay as they are, and
    the train PR says so and what to do. A requested rollback is left to finish first."""
    if record.state not in (MERGED, PROMOTING) or record.rollback_requested:
        return record, []
    limit = deadline_of(ctx.config, ctx.train, record.state)
    if limit is None or not deadline_passed(ctx.config, ctx.train, record, ctx.now):
        return record, []
    from bot.core import promotion as pm

    steps = pm.load(record).steps or tuple(pm.StepState(p.name) for p in pm.plan_steps(ctx.config))
    bumped = [(s.name, s.status, s.commit) for s in steps if s.commit]
    rest = [s.name for s in steps if not s.commit]
    left = ", ".join(name for name, _, _ in bumped) or "none"
    detail = f"{record.state} longer than {notes_duration(limit)}; stages left bumped: {left}"
    actions: list[Action] = []
    if record.train_pr:
        body = deadline_notice(record, record.state, limit, bumped, rest)
        actions.append(act.PostComment(record.id, record.train_pr, body, f"deadline:{record.id}"))
    events.append("abort")
    return abort(record, "deadline", ctx.now, detail=detail), actions


def _decide_ended(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    record, actions, events, actor = run_commands(ctx, record)
    extra = decide_aborted(ctx, record) if record.state == ABORTED else []
    return actions + extra + write_record(before, record, events, actor)


Handler = Callable[[Ctx, TrainRecord, "TrainRecord | None"], list[Action]]

HANDLERS: dict[str, Handler] = {
    BOARDING: decide_boarding,
    DEPARTED: decide_departed,
    MERGED: decide_merged,
    PROMOTING: decide_promoting,
}


# -- when to look again --------------------------------------------------------------------


def next_due(config: Config, records: Sequence[TrainRecord], now: datetime) -> datetime | None:
    """The next instant at which time alone changes a decision: a departure, a deadline,
    a cutover window opening for a departed train. None when only events matter."""
    from bot.core.calendar import next_cutover

    times: list[datetime] = []
    for record in records:
        train = next((t for t in config.trains if t.name == record.train), None)
        if train is None or is_terminal(record.state):
            continue
        since = record.state_since or record.created_at
        limit = deadline_of(config, train, record.state)
        if since is not None and limit is not None:
            times.append(since + limit)
        when = departs_at(config, train, record) if record.state == BOARDING else None
        if when is not None:
            times.append(when)
        if record.state == DEPARTED and (wake := culprit_wake_at(config, record)) is not None:
            times.append(wake)  # a bisection round's CI timeout
        if record.state == DEPARTED and not cutover_open(config.cutover, config.freezes, now):
            window = next_cutover(config.cutover, config.freezes, now)
            if window is not None:
                times.append(window[0])
    future = [t for t in times if t > now]
    return min(future) if future else None


# -- the whole repository -----------------------------------------------------------------


def riding_map(records: Sequence[TrainRecord]) -> dict[int, str]:
    riding: dict[int, str] = {}
    for record in records:
        if not is_terminal(record.state):
            for number in record.boarded_numbers():
                riding.setdefault(number, record.id)
    return riding


def _new_trains(ctx: Ctx, records: list[TrainRecord], known: set[str]) -> list[TrainRecord]:
    line = [r for r in records if r.train == ctx.train.name and r.state == BOARDING]
    created = []
    for emergency, label in ((False, ctx.train.label), (True, ctx.train.emergency_label)):
        if any(r.emergency == emergency for r in line):
            continue
        wanting = [
            pr
            for pr in ctx.world.pulls.values()
            if wants_train(pr, ctx.train, label) and pr.number not in ctx.riding
        ]
        if emergency:
            unready = unready_emergencies(ctx)
            wanting = [pr for pr in wanting if pr.number not in unready]
        if wanting:
            created.append(new_record(ctx, known, emergency=emergency))
    return created


def decide(
    config: Config,
    ledger: Ledger,
    world: World,
    now: datetime,
    gate_facts: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Action]:
    """Every action the bot should take now, grouped per train, ledger writes last.
    `gate_facts`: train id -> facts by gate (`bot.shell.gate_facts.gather`)."""
    records = list(ledger.records)
    known = set(ledger.known_ids) | {r.id for r in records}
    riding = riding_map(records)
    commands = pending_commands(records, world)
    actions: list[Action] = []
    for train in config.trains:
        ctx = Ctx(config, train, world, now, riding, commands, gate_facts or {})
        fresh = _new_trains(ctx, records, known)
        for record in [r for r in records if r.train == train.name] + fresh:
            before = None if record in fresh else record
            handler = HANDLERS.get(record.state, _decide_ended)
            planned = handler(ctx, record, before)
            _note_riders(riding, planned)
            actions += planned
    return actions


def _note_riders(riding: dict[int, str], planned: list[Action]) -> None:
    """Keep "one PR rides one train" true within one decide, across train lines."""
    for action in planned:
        if isinstance(action, act.WriteLedger) and not is_terminal(action.record.state):
            for number in action.record.boarded_numbers():
                riding.setdefault(number, action.record.id)


__all__ = [
    "Command",
    "Ctx",
    "Missed",
    "Verdict",
    "abort",
    "decide",
    "departs_at",
    "merge_message",
    "merge_verdict",
    "next_due",
    "riding_map",
]
