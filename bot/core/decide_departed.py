"""A departed train: its PR's body, the missed PRs' notices, the merge, and an abort."""

from __future__ import annotations

from dataclasses import replace

from bot.core import actions as act
from bot.core import untrusted
from bot.core.boarding import missed_notice
from bot.core.calendar import active_freeze, cutover_open
from bot.core.culprit import decide_culprit, on_end
from bot.core.decide_base import Action, Ctx, abort, deadline_passed, transition, write_record
from bot.core.decide_commands import run_commands
from bot.core.ledger import TrainRecord
from bot.core.merge_rule import GATE_EVENT, merge_message, merge_verdict, record_gates
from bot.core.notes import generated_region, release_notes, render_body
from bot.core.train import ABORTED, DEPARTED, MERGED
from bot.core.world import PullRequest


def _train_pr(ctx: Ctx, record: TrainRecord) -> PullRequest | None:
    if record.train_pr:
        return ctx.world.pull(record.train_pr)
    found = ctx.world.pr_by_head(record.release_branch)
    return found if found is not None and found.base == ctx.train.base else None


def _body_actions(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> list[Action]:
    facts = ctx.gate_facts.get(record.id)  # the flags and migrations sections, when gathered
    generated = release_notes(ctx.config, ctx.train, record, ctx.now, facts)
    if generated_region(pr.body) == generated.rstrip("\n"):
        return []
    return [act.UpdatePullRequest(record.id, pr.number, render_body(record.id, generated, pr.body))]


def _notify_missed(ctx: Ctx, record: TrainRecord) -> tuple[TrainRecord, list[Action]]:
    actions: list[Action] = []
    for missed in record.missed:
        if missed.number in record.missed_notified or not missed.number:
            continue
        pr = ctx.world.pull(missed.number)
        body = missed_notice(record.id, missed, ctx.train.label, pr.author if pr else "")
        key = f"missed:{record.id}:{missed.number}"
        actions.append(act.PostComment(record.id, missed.number, body, key))
        record = replace(record, missed_notified=(*record.missed_notified, missed.number))
    return record, actions


def _try_merge(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> tuple[TrainRecord, list[Action]]:
    if record.held or pr.state != "open" or not pr.head_sha:
        return record, []
    if not record.emergency:
        if active_freeze(ctx.config.freezes, ctx.now) is not None:
            return record, []
        if not cutover_open(ctx.config.cutover, ctx.config.freezes, ctx.now):
            return record, []
    extra = ctx.gate_facts.get(record.id)
    verdict = merge_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra)
    if not verdict.may_merge:
        return record, []
    message = merge_message(record, verdict.approved_by, verdict.trailer)
    title = f"Release train {record.id} (#{pr.number})"
    merge = act.MergePullRequest(record.id, pr.number, pr.head_sha, title, message)
    record = replace(record, approved_by=verdict.approved_by, release_sha=pr.head_sha)
    return transition(record, MERGED, ctx.now), [merge]


def _approvers(ctx: Ctx, record: TrainRecord, pr: PullRequest) -> tuple[str, ...]:
    """Who approved a train PR found already merged: the same reading of the reviews the
    merge rule makes, so a lost merge answer (or a crash right after the merge) still
    records who approved it."""
    extra = ctx.gate_facts.get(record.id)
    return merge_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra).approved_by


def _departed_view(
    ctx: Ctx, record: TrainRecord, events: list[str]
) -> tuple[TrainRecord, list[Action]]:
    """The train PR exists, says the right thing, and merges when allowed."""
    if record.release_branch not in ctx.world.branches and not record.train_pr:
        events.append("abort")
        return abort(record, "release branch deleted", ctx.now), []
    pr = _train_pr(ctx, record)
    if pr is None and not record.boarded:
        events.append("abort")
        return abort(record, "no pull request could ride", ctx.now), []
    if pr is None:
        title = f"Release train {record.id}"
        body = render_body(record.id, release_notes(ctx.config, ctx.train, record, ctx.now))
        open_pr = act.OpenPullRequest(record.id, record.release_branch, ctx.train.base, title, body)
        events.append("open-pr")
        return record.with_event("open-pr", ctx.now), [open_pr]
    if record.train_pr != pr.number:
        record = replace(record, train_pr=pr.number)
        events.append("open-pr")
    if pr.state != "open":
        events.append("merge" if pr.merged else "abort")
        if pr.merged:
            merged = replace(record, merge_sha=pr.merge_commit_sha or pr.head_sha)
            if not merged.approved_by:  # our merge landed but its answer was lost
                merged = replace(merged, approved_by=_approvers(ctx, record, pr))
            return transition(merged, MERGED, ctx.now), []
        return abort(record, "train PR closed by hand", ctx.now), []
    if record.release_branch not in ctx.world.branches:
        events.append("abort")
        return abort(record, "release branch deleted", ctx.now), []
    gated = record_gates(ctx, record, pr)
    if gated != record:
        events.append(GATE_EVENT)
        record = gated
    record, culprit = decide_culprit(ctx, record, pr, events)  # a failing CI: bisect
    if culprit or record.state != DEPARTED:
        return record, culprit
    record, merge = _try_merge(ctx, record, pr)
    if merge:
        events.append("merge")
        return record, merge
    return record, _body_actions(ctx, record, pr)


def decide_departed(ctx: Ctx, record: TrainRecord, before: TrainRecord | None) -> list[Action]:
    record, actions, events, actor = run_commands(ctx, record)
    if record.state == DEPARTED and deadline_passed(ctx.config, ctx.train, record, ctx.now):
        record = abort(record, "deadline", ctx.now)
        events.append("abort")
    if record.state != DEPARTED:
        record, ended = on_end(record, record.end_reason)  # mid-bisection: stop, clean up
        actions += ended
        return actions + decide_aborted(ctx, record) + write_record(before, record, events, actor)
    record, notices = _notify_missed(ctx, record)
    actions += notices
    events += ["notify"] * bool(notices)
    record, view = _departed_view(ctx, record, events)
    actions += view
    if record.state == ABORTED:
        actions += decide_aborted(ctx, record)
    return actions + write_record(before, record, events, actor)


def decide_aborted(ctx: Ctx, record: TrainRecord) -> list[Action]:
    """An aborted train's PR (if still open) says so and is closed."""
    pr = ctx.world.pull(record.train_pr) if record.train_pr else None
    if pr is None or pr.state != "open":
        return []
    body = (
        f"🛑 Release train **{record.id}** was aborted: {untrusted.inline(record.end_reason)}. "
        f"Its pull requests board the next train."
    )
    return [
        *_body_actions(ctx, record, pr),
        act.PostComment(record.id, pr.number, body, f"aborted:{record.id}"),
        act.ClosePullRequest(record.id, pr.number),
    ]
