"""`/train` commands applied to a train's record, and the answer to `/train status`."""

from __future__ import annotations

from bot.core.calendar import active_freeze, cutover_open
from bot.core.chatops import apply_command, one_reply_per_comment
from bot.core.decide_base import Action, Ctx, departs_at
from bot.core.ledger import TrainRecord
from bot.core.merge_rule import merge_verdict
from bot.core.train import BOARDING, DEPARTED


def run_commands(ctx: Ctx, record: TrainRecord) -> tuple[TrainRecord, list[Action], list[str], str]:
    actions: list[Action] = []
    events: list[str] = []
    actor = ""
    for command in ctx.commands.get(record.id, ()):
        status = status_text(ctx, record)
        record, more, event = apply_command(
            ctx.config, ctx.train, record, command, ctx.world, ctx.now, status
        )
        actions += more
        events.append(event)
        if event != "chatops":
            actor = actor or command.comment.author
    return record, one_reply_per_comment(actions), events, actor


def status_text(ctx: Ctx, record: TrainRecord) -> str:
    """The answer to `/train status`: state, riders, and what the train waits for."""
    lines = [f"**{record.id}** is `{record.state}`" + (" (held)" if record.held else "") + "."]
    riders = " ".join(f"#{n}" for n in record.boarded_numbers()) or "none"
    lines.append(f"Boarded: {riders}.")
    when = departs_at(ctx.config, ctx.train, record)
    if record.state == BOARDING and when is not None:
        lines.append(f"Departs at {when.strftime('%Y-%m-%d %H:%M UTC')}.")
    pr = ctx.world.pull(record.train_pr) if record.train_pr else None
    if record.state == DEPARTED and pr is not None:
        extra = ctx.gate_facts.get(record.id)
        verdict = merge_verdict(ctx.config, record, pr, ctx.world, ctx.now, extra)
        waits = list(verdict.blocking)
        if active_freeze(ctx.config.freezes, ctx.now) is not None:
            waits.append("a freeze is in force")
        if not cutover_open(ctx.config.cutover, ctx.config.freezes, ctx.now):
            waits.append("no cutover window is open")
        lines.append("Waiting for: " + ("; ".join(waits) if waits else "nothing (merging)") + ".")
    return "\n".join(lines)
