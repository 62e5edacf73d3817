"""Reverts and holds at the edge: reading who asked `/train resume` (the pure core decides
the release, `bot.core.promotion_steps.released`), and performing a revert's writes for the
one dispatcher: the revert chain of one branch, the incident issue, the train PR's comment
(`bot.core.promotion_stops.revert` decides them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bot.adapters.gitdata import Tip
from bot.core import actions as act
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import promotion_steps as ps
from bot.core.ledger import TrainRecord, decode, record_path
from bot.core.revert import incident_body
from bot.shell.retry_io import retry_actions
from bot.shell.stage_io import Link, StageCtx, git_of, read_holds, write_chain, write_edits
from bot.shell.suspects_io import suspects_section


def revert_chain(ctx: StageCtx, action: pa.RevertChain) -> tuple[list[tuple[str, str]], bool]:
    """The chain's commits (step, sha), and whether the ref moved (False: every file was
    already as asked, e.g. a rerun after a crash)."""
    git = git_of(ctx, action.repository)
    if action.head:  # the stage takes pull requests: one per step
        link = action.links[0]
        sha, _ = write_edits(
            ctx,
            git,
            action.branch,
            _files_of(link),
            dict(link.tags),
            _fixed(link.message),
            action.head,
        )
        return [(link.step, sha)], False
    links = [Link(link.files, dict(link.tags), link.message) for link in action.links]
    shas, moved = write_chain(ctx, git, action.branch, links)
    return [(link.step, sha) for link, sha in zip(action.links, shas, strict=True)], moved


def _files_of(link: pa.RevertLink) -> Callable[[Tip], dict[str, tuple[str, ...]]]:
    def owners(tip: Tip) -> dict[str, tuple[str, ...]]:
        return {f: tuple(link.tags) for f in link.files if f in tip.files}

    return owners


def _fixed(message: str) -> Callable[[tuple[pm.BumpLine, ...]], str]:
    return lambda _lines: message


def reverted(record: TrainRecord) -> list[tuple[str, str]]:
    """(step, revert commit) of the folded record, newest step first."""
    steps = reversed(pm.load(record).steps)
    return [(s.name, s.revert_commit) for s in steps if s.revert_commit]


def open_incident(ctx: StageCtx, action: pa.OpenIncident, record: TrainRecord, look: bool) -> int:
    """The incident issue (adopted by its key when an earlier attempt opened it; `look`
    False: a chain moved its ref just now, so none could have — unless the record names one,
    opened while the revert was blocked by a rule)."""
    look = look or bool(pm.load(record).incident)
    body = incident_body(
        record.id,
        record.train_pr,
        action.where,
        action.why,
        action.rows,
        reverted(record),
        action.services,
        action.prometheus_url,
    )
    suspects = suspects_section(ctx.client, ctx.config, record, action.rows)
    body += f"\n\n{suspects}" if suspects else ""
    return ctx.git.open_incident(
        action.title, body, list(action.labels), list(action.assignees), action.key, look=look
    )


def announce(ctx: StageCtx, action: pa.AnnounceRollback, record: TrainRecord) -> bool:
    incident = pm.load(record).incident
    text = f"⏪ Release train **{record.id}** was rolled back: {action.why}. Incident: #{incident}."
    if action.evidence:
        text += "\n\n" + "\n".join(f"- `{e}`" for e in action.evidence)
    return bool(ctx.client.post_comment(action.number, text, f"rolled-back:{record.id}"))


# -- releasing holds -----------------------------------------------------------------------


def releases(ctx: StageCtx, seen_of: Callable[[TrainRecord], ps.Seen]) -> Iterator[list[Any]]:
    """`/train resume` on a rolled-back train's PR or incident issue, by someone with
    maintain permission, releases the services it holds: per train, the actions (decided
    from the holds as they stand when the train's turn comes)."""
    from bot.core.chatops import permitted

    holds = read_holds(ctx.client, ctx.snap.tip)
    for train_id in sorted({h.train for h in holds.held}):
        record = _ended_record(ctx, train_id)
        if record is None:
            continue
        first = holds.of_train(train_id)[0]
        promotion = pm.load(record)
        comments = [
            c for n in (record.train_pr, promotion.incident) if n for c in ctx.client.comments(n)
        ]
        retried = retry_actions(ctx, record, comments, holds, seen_of(record))
        if retried is not None:  # `/train retry without #N` (bot.core.retry)
            yield retried
            continue
        asked = holds_mod.resume_requests(comments, first, ctx.client.bot_login())
        allowed = [(w, c) for w, c in asked if permitted("resume", ctx.client.permission(w))]
        if not allowed:
            continue
        who, comment_id = allowed[0]
        actions: list[act.Action]
        actions, holds = ps.released(record, holds, who, comment_id, seen_of(record), ctx.now)
        yield actions


def _ended_record(ctx: StageCtx, train_id: str) -> TrainRecord | None:
    loaded = ctx.snap.ledger.record(train_id)
    if loaded is not None:
        return loaded
    sha = ctx.snap.tip.files.get(record_path(train_id))
    return decode(ctx.client.read_blob(sha)) if sha else None
