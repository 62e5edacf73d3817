"""A boarding train: new trains, who boards and who misses, and departure."""

from __future__ import annotations

from dataclasses import replace

from bot.core import actions as act
from bot.core import release
from bot.core.boarding import boarded_notice, miss_reason, sync_boarding, wants_train
from bot.core.changelog import WriteChangelog
from bot.core.decide_base import (
    Action,
    Ctx,
    abort,
    deadline_passed,
    departs_at,
    required_checks,
    transition,
    write_record,
)
from bot.core.decide_commands import run_commands
from bot.core.ledger import Missed, TrainRecord
from bot.core.notes import release_notes, render_body
from bot.core.train import BOARDING, DEPARTED, new_train_id
from bot.core.world import PullRequest


def new_record(ctx: Ctx, known: set[str], *, emergency: bool) -> TrainRecord:
    probe = TrainRecord(id="", train=ctx.train.name, created_at=ctx.now, emergency=emergency)
    day = (departs_at(ctx.config, ctx.train, probe) or ctx.now).date()
    train_id = new_train_id(ctx.train.name, day, known, emergency=emergency)
    known.add(train_id)
    record = replace(probe, id=train_id, state_since=ctx.now)
    return record.with_event("create", ctx.now)


def _notify_boarded(ctx: Ctx, record: TrainRecord) -> tuple[TrainRecord, list[Action]]:
    actions: list[Action] = []
    when = departs_at(ctx.config, ctx.train, record)
    label = ctx.train.emergency_label if record.emergency else ctx.train.label
    for entry in record.boarded:
        if entry.number in record.notified:
            continue
        body = boarded_notice(record.id, when, ctx.now, label)
        key = f"boarded:{record.id}:{entry.number}"
        actions.append(act.PostComment(record.id, entry.number, body, key))
        record = replace(record, notified=(*record.notified, entry.number))
    return record, actions


def why_missed(ctx: Ctx, pr: PullRequest | None) -> Missed | None:
    world = ctx.world
    return miss_reason(
        pr,
        ctx.train.boarding,
        world.reviews,
        world.checks,
        required_checks(ctx.config),
        approved=world.approved,
        green=world.green,
    )


def _depart(ctx: Ctx, record: TrainRecord, actor: str) -> tuple[TrainRecord, list[Action]]:
    branch = ctx.train.release_branch.format(train=record.id)
    base_sha = ctx.world.branches.get(ctx.train.base, "")
    actions: list[Action] = []
    if branch not in ctx.world.branches:
        actions.append(act.CreateBranch(record.id, branch, base_sha))
    riding, missed = [], list(record.missed)
    for entry in record.boarded:
        pr = ctx.world.pull(entry.number)
        reason = why_missed(ctx, pr)
        if reason is not None:
            missed.append(replace(reason, number=entry.number))
            continue
        assert pr is not None
        riding.append(replace(entry, head_sha=pr.head_sha))
        actions.append(act.MergeIntoBranch(record.id, branch, entry.number, pr.head_sha))
    record = replace(
        record,
        boarded=tuple(riding),
        missed=tuple(missed),
        base_sha=base_sha,
        release_branch=branch,
        release_sha=base_sha,
    )
    record = transition(record, DEPARTED, ctx.now, actor)
    if riding and ctx.config.release.changelog:  # the notes atop the changelog, one commit
        actions.append(WriteChangelog(record.id, branch, ctx.config.release.changelog))
    if riding:  # the train PR in the same step (the shell skips it when every merge fails)
        title = f"Release train {record.id}"
        body = render_body(record.id, release_notes(ctx.config, ctx.train, record, ctx.now))
        actions.append(act.OpenPullRequest(record.id, branch, ctx.train.base, title, body))
        record = record.with_event("open-pr", ctx.now)
        record, drafted = release.draft(ctx.config, record)  # the train's Release, a draft
        actions += drafted
    return record, actions


def decide_boarding(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    riders = set(record.boarded_numbers())
    record, actions, events, actor = run_commands(ctx, record)
    if record.state != BOARDING:
        return actions + write_record(before, record, events, actor)
    elsewhere = {n for n, tid in ctx.riding.items() if tid != record.id}
    if record.emergency:
        elsewhere |= unready_emergencies(ctx) - set(record.boarded_numbers())
    label = ctx.train.emergency_label if record.emergency else ctx.train.label
    now_riding = set(record.boarded_numbers())
    record, change = sync_boarding(
        record,
        ctx.train,
        ctx.world,
        elsewhere,
        ctx.now,
        label=label,
        pinned=now_riding - riders,
        dropped=riders - now_riding,
    )
    events += ["board"] * bool(change.boarded) + ["deboard"] * bool(change.deboarded)
    for number, why in change.deboarded:
        body = f"This pull request left train **{record.id}** ({why})."
        key = f"deboarded:{record.id}:{number}"
        actions.append(act.PostComment(record.id, number, body, key))
    record, notices = _notify_boarded(ctx, record)
    actions += notices
    events += ["notify"] * bool(notices)
    record, departure = _depart_or_end(ctx, record, events, actor)
    return actions + departure + write_record(before, record, events, actor)


def _depart_or_end(
    ctx: Ctx, record: TrainRecord, events: list[str], actor: str
) -> tuple[TrainRecord, list[Action]]:
    """A boarding train past its deadline ends; one that is due (or asked to) departs;
    one due with nobody aboard ends."""
    when = departs_at(ctx.config, ctx.train, record)
    due = when is not None and ctx.now >= when
    if deadline_passed(ctx.config, ctx.train, record, ctx.now):
        events.append("abort")
        return abort(record, "deadline", ctx.now), []
    if record.held:
        return record, []
    # the shell read the base head only when a departure was due
    if record.boarded and (due or record.depart_requested) and ctx.train.base in ctx.world.branches:
        events.append("depart")
        record, actions = _depart(ctx, record, actor or record.depart_requested)
        events += ["open-pr"] * any(isinstance(a, act.OpenPullRequest) for a in actions)
        return record, actions
    if due and not record.boarded:
        events.append("abort")
        return abort(record, "no pull requests boarded", ctx.now), []
    return record, []


def unready_emergencies(ctx: Ctx) -> set[int]:
    """Emergency-labelled PRs that could not ride now (a fork, unapproved, red, draft):
    they wait for an emergency train until ready, instead of missing one after another."""
    label = ctx.train.emergency_label
    return {
        pr.number
        for pr in ctx.world.pulls.values()
        if wants_train(pr, ctx.train, label) and (pr.fork or why_missed(ctx, pr) is not None)
    }
