"""A promotion move refused by a rule or for a missing permission, at the edge: the move
made again once the rule is lifted (`resumed`), and the refusal recorded as the train's
named, resumable state (`blocked`; the pure core decides its actions,
`bot.core.promotion_refusals`, and the one dispatcher performs them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.core import actions as act
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import promotion_refusals as refusals
from bot.core import promotion_steps as ps
from bot.core import promotion_stops as stops
from bot.core.ledger import TrainRecord
from bot.errors import ExternalError, PermissionMissing, RuleRefused
from bot.shell.promote_moves import Decided
from bot.shell.stage_io import StageCtx

Refusal = (RuleRefused, PermissionMissing)


def resumed(ctx: StageCtx, decided: Decided) -> Decided:
    """The move decided for a blocked train, made again: the note dropped from the record
    it starts from; a blocked revert is a revert again (it stays owed whatever the SLOs
    say now; its verdicts were recorded when it was first decided)."""
    blocked = refusals.of(decided.record)
    if blocked is None:
        return decided
    record = refusals.unblocked(decided.record, ctx.now)
    move = decided.action.move
    if blocked.revert and move.kind != pm.MoveKind.REVERT:
        move = pm.Move(pm.MoveKind.REVERT, blocked.step, reason=blocked.reason or "SLO breach")
        return replace(decided, action=act.Promote(record.id, move), record=record, results=())
    return replace(decided, action=replace(decided.action, move=move), record=record)


def blocked(
    ctx: StageCtx,
    stored: TrainRecord,
    decided: Decided | None,
    error: RuleRefused | PermissionMissing,
    perform: Callable[[Sequence[act.Action]], None],
    seen_of: Callable[[StageCtx, TrainRecord], ps.Seen],
) -> None:
    """Record the refusal as the train's blocked state (once per refusal): the train's
    record as it stood before the refused move (after a pass written this round: that
    one), with the note, the rule and the fix as trailers; the train PR's stage table
    says so. The problem is reported too (a configuration problem: exit 1)."""
    ctx.run.problems.append(f"{stored.id}: {error.message}")
    _unnoted(ctx, stored.id)
    if decided is None:  # refused while reading what the move depends on: nothing to note
        return
    noted = stored if refusals.of(stored) is not None else decided.record  # as `resumed` found it
    base = ctx.written.get(stored.id) or noted
    move = _refused_move(ctx, decided, written=stored.id in ctx.written)
    revert = move.kind == pm.MoveKind.REVERT
    step = move.step or _current(base)
    note = refusals.from_refusal(error, step, ctx.now, revert=revert, reason=move.reason)
    effects: list[act.Action] = []
    if revert and not pm.load(base).incident:  # a breach whose revert cannot land yet
        effects.append(_incident(ctx, decided, base, note))
    stage = _stage(ctx, step)
    reviewers = tuple(stage.reviewers) if stage is not None else ()
    seen = seen_of(ctx, base)

    def recorded(
        record: TrainRecord, events: Sequence[str], trailers: Any, out: Sequence[act.Action]
    ) -> list[act.Action]:
        return ps.recorded(record, events, trailers, seen, effects=out)

    actions = refusals.block(base, note, reviewers, recorded, effects)
    if not actions:
        return
    try:
        perform(actions)
    except ExternalError as exc:  # e.g. the ledger is not writable either
        ctx.run.problems.append(f"{stored.id}: recording the refusal: {exc.message}")


def _unnoted(ctx: StageCtx, train_id: str) -> None:
    """The refused move's actions, noted as performed as they were begun, are not: from
    the train's last move heading on, unless a ledger write of it followed (the move
    was recorded and a later write was refused)."""
    run = ctx.run
    heads = [
        i for i, a in enumerate(run.performed)
        if isinstance(a, act.Promote) and a.train_id == train_id
    ]  # fmt: skip
    if not heads or any(isinstance(a, act.WriteLedger) for a in run.performed[heads[-1] :]):
        return
    dropped = len(run.performed) - heads[-1]
    del run.performed[heads[-1] :]
    del run.done[len(run.done) - dropped :]


def _refused_move(ctx: StageCtx, decided: Decided, *, written: bool) -> pm.Move:
    """The move whose write was refused: the one decided, or, when a pass was written
    this round, the step that follows it."""
    if not written:
        return decided.action.move
    train = decided.record.id
    moves = [a.move for a in ctx.run.moves if isinstance(a, act.Promote) and a.train_id == train]
    return moves[-1] if moves else decided.action.move


def _current(record: TrainRecord) -> str:
    current = pm.load(record).current()
    return current.name if current is not None else ""


def _stage(ctx: StageCtx, step: str) -> Any:
    plan = next((s for s in pm.plan_steps(ctx.config) if s.name == step), None)
    if plan is None:
        return None
    return next((s for s in ctx.config.stages if s.name == plan.stage), None)


def _incident(
    ctx: StageCtx, decided: Decided, record: TrainRecord, note: refusals.Blocked
) -> pa.OpenIncident:
    """The incident of the revert that waits (the one the revert would open, adopted by its
    key when the revert lands), opened now."""
    plan = pm.plan_steps(ctx.config)
    promotion = pm.load(record)
    seen = ps.Seen(prometheus_url=str(getattr(ctx.prometheus, "url", "") or ""))
    steps = stops.revert(
        ctx.config, record, plan, promotion, decided.results, note.reason, seen, ctx.now
    )
    incident = next(a for a in steps.actions if isinstance(a, pa.OpenIncident))
    return refusals.waiting_incident(incident, note)
