"""Promotion, one move per merged or promoting train per round: read, decide, act.

For each train: read what its move depends on (`bot.shell.promote_moves`: the services it
carries, the holds, each soaking SLO's verdict from Prometheus, and for a stage about to
start the manifests at its branch head), let the pure core turn the move into actions
(`bot.core.promotion_steps`, `bot.core.promotion_stops`: the bump commit, the deployment
and its statuses, the revert chain, the incident, the ledger record with its holds, the
train PR's stage table and the promotion check run), and hand them to the one dispatcher
(`bot.shell.dispatch.apply_group`), which folds each write's outcome into the record and
commits it to the ledger (compare-and-swap). `plan` decides the same actions from the same
reads and performs none. A pass and the step after it (or the completion) are decided in
the same round: what the next step needs is what the pass writes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.adapters.gitdata import GitData
from bot.adapters.prometheus import LazyPrometheus, prometheus_for
from bot.config.model import Config
from bot.core import actions as act
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import promotion_health as ph
from bot.core import promotion_steps as ps
from bot.core import promotion_stops as stops
from bot.core.ledger import TrainRecord
from bot.core.promotion_check import CHECK_RUN_ID
from bot.core.train import MERGED, PROMOTING
from bot.errors import ConfigError, ExternalError
from bot.shell import ledger_trust
from bot.shell import promote_refusals as refused
from bot.shell.artifacts_io import recheck, seen_as_written, settle_train
from bot.shell.promote_moves import Decided, decide_move, judge_step, next_after_pass
from bot.shell.rollback import releases
from bot.shell.stage_io import PromoteRun, StageCtx, branch_for, git_for, read_holds

__all__ = ["PromoteRun", "judge_step", "prometheus_for", "promote_round", "wanted"]


def wanted(config: Config, snap: Any) -> bool:
    """Whether a promotion pass has anything to look at: a merged or promoting train, or
    services held (a `/train resume` may release them)."""
    if not config.stages:
        return False
    busy = any(r.state in (MERGED, PROMOTING) for r in snap.ledger.records)
    return busy or holds_mod.HOLDS_PATH in snap.tip.files


def promote_round(
    client: Any,
    config: Config,
    snap: Any,
    now: datetime,
    *,
    prometheus: Any = None,
    dry_run: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    outbound: Any = None,
) -> PromoteRun:
    """One move for every merged or promoting train; raises `LedgerMoved` when a ledger
    swap is lost (the caller reads again and calls again)."""
    run = PromoteRun()
    ctx = StageCtx(
        client, config, snap, now, prometheus, GitData(client), run, sleep, rng or random.Random()
    )
    ctx.outbound = (
        outbound  # the operator's policy, for the registry and Argo CD (artifacts_io, health_io)
    )
    plan = pm.plan_steps(config) if pm.configured(config) else ()
    if dry_run:
        for held in read_holds(client, snap.tip).held:
            run.done.append(f"held: {held.service} (train {held.train}: {held.reason})")
    try:
        for actions in releases(ctx, lambda r: seen(ctx, r)):
            act_on(ctx, actions, dry_run)
    except ExternalError as exc:
        run.problems.append(f"holds: {exc.message}")
    try:
        for record in snap.ledger.records:
            _one_train(ctx, record, plan, dry_run)
    finally:
        if isinstance(prometheus, LazyPrometheus):
            prometheus.close()
        for other in ctx.others.values():
            other.__exit__(None, None, None)
    return run


def act_on(ctx: StageCtx, actions: Sequence[act.Action], dry_run: bool) -> None:
    """Perform the actions one train's move decided (a dry run lists them)."""
    from bot.shell.dispatch import _groups, apply_group

    ctx.run.moves += actions
    if dry_run:
        ctx.run.done += [a.describe() for a in actions]
        return
    for group in _groups(actions):
        apply_group(ctx.client, ctx.config, ctx.snap, list(group), None, _noter(ctx.run), ctx)


def _noter(run: PromoteRun) -> Callable[[act.Action], None]:
    def note(action: act.Action) -> None:
        run.performed.append(action)
        if isinstance(action, act.WriteLedger):  # as the demo narrates a ledger write
            run.done += [f"record {e} for {action.train_id}" for e in action.events]
        else:
            run.done.append(action.describe())

    return note


# -- one train ------------------------------------------------------------------------------


def _one_train(
    ctx: StageCtx, record: TrainRecord, plan: tuple[pm.StepPlan, ...], dry_run: bool
) -> None:
    """Decide the train's move and its actions from what is read (the same reads for `plan`
    and `reconcile`), then, unless a dry run, perform them."""
    if record.state not in (MERGED, PROMOTING) or not plan:
        return
    if record.state == MERGED and not set(record.boarded_numbers()) <= set(record.landed):
        return  # the lifecycle lands the boarded PRs first
    if ledger_trust.refused(ctx.client, ctx.config, record, ctx.run.problems, dry_run):
        return  # its record does not agree with GitHub (bot.shell.ledger_trust)
    decided = None
    try:
        settled = artifacts_first(ctx, record, dry_run)
        if settled is None:
            return  # waiting for images: nothing is bumped (bot.shell.artifacts_io)
        decided = decide_move(ctx, settled, plan)
        if decided is None:
            return
        decided = refused.resumed(ctx, decided)  # a blocked train's move, made again
        actions = [decided.action, *_move_actions(ctx, decided, plan)]
        act_on(ctx, actions, dry_run)
    except refused.Refusal as exc:  # a rule or a permission: the train is blocked, named
        refused.blocked(ctx, record, decided, exc, lambda a: act_on(ctx, a, dry_run), seen)
    except ExternalError as exc:
        ctx.run.problems.append(f"{record.id}: {exc.message}")
    except ConfigError as exc:  # the branch moved to manifests that no longer edit
        why = "; ".join(p.render() for p in exc.problems)
        ctx.run.problems.append(f"{record.id}: {why} (judged again next time)")


def artifacts_first(ctx: StageCtx, record: TrainRecord, dry_run: bool) -> TrainRecord | None:
    """Before its first bump, the train's artifact set settled: its actions performed, and
    the record carrying it; None while a service waits (the record as is without artifacts)."""
    if pm.load(record).steps:
        return record
    settling = settle_train(ctx, record)
    if settling is None:
        return record
    act_on(ctx, settling.actions, dry_run)
    if not dry_run:
        seen_as_written(ctx, settling.actions)
    ctx.run.wake(settling.wake)
    return settling.record if settling.artifacts.settled else None


def _move_actions(
    ctx: StageCtx, decided: Decided, plan: tuple[pm.StepPlan, ...]
) -> list[act.Action]:
    """The move's actions; after a pass, the next step's start (or the completion) too."""
    move = decided.action.move
    steps = move_steps(ctx, move, decided, plan, seen(ctx, decided.record))
    ctx.run.wake(steps.wake)
    actions = list(steps.actions)
    if move.kind != pm.MoveKind.PASS:
        return actions
    follow = next_after_pass(ctx, steps.record, plan, steps.promotion)
    if follow is None:
        return actions
    after = Decided(follow, steps.record, steps.promotion)
    more = move_steps(ctx, follow.move, after, plan, seen(ctx, steps.record, known=True))
    ctx.run.wake(more.wake)
    return [*actions, follow, *more.actions]


def move_steps(
    ctx: StageCtx,
    move: pm.Move,
    decided: Decided,
    plan: tuple[pm.StepPlan, ...],
    what: ps.Seen,
) -> ps.Steps:
    """The pure core's actions for one typed move (the only place a move is turned into
    what is done)."""
    record, promotion, now = decided.record, decided.promotion, ctx.now
    results, kind = decided.results, move.kind
    step = next((s for s in plan if s.name == move.step), None)
    if decided.health is not None and step is not None and ph.health_decides(move):
        moved = (move, decided.health, results)  # a syncing step (bot.core.promotion_health)
        return ph.health_steps(ctx.config, record, plan, promotion, step, moved, what, now)
    if kind == pm.MoveKind.START and step is not None:
        what = recheck(ctx, record, step, _with_edit(ctx, what, record, promotion, step))
        return ps.start(ctx.config, record, promotion, step, what, now)
    if kind == pm.MoveKind.PASS and step is not None:
        return ps.passed(ctx.config, record, promotion, step, results, what, now)
    if kind == pm.MoveKind.COMPLETE:
        return ps.complete(record, promotion, move.reason, what, now)
    if kind == pm.MoveKind.REVERT:
        doubtful = results and not any(r.verdict.value == "fail" for r in results)
        reason = "SLO verdict unsure past inconclusive_after" if doubtful else move.reason
        return stops.revert(ctx.config, record, plan, promotion, results, reason, what, now)
    if kind in (pm.MoveKind.HOLD, pm.MoveKind.ABORT) and step is not None:
        return stops.unsure(
            ctx.config, record, promotion, step, results, kind.value, decided.failures, what, now
        )
    if kind == pm.MoveKind.WAIT and step is not None:
        return ps.soaking(
            ctx.config, record, promotion, step, decided.failures, what, now, move.until
        )
    return ps.Steps((), record, promotion)


def seen(ctx: StageCtx, record: TrainRecord, *, known: bool | None = None) -> ps.Seen:
    """What a train's move is decided from besides its record and verdicts."""
    pr = ctx.snap.world.pull(record.train_pr) if record.train_pr else None
    holds = read_holds(ctx.client, ctx.snap.tip)
    if known is None:
        known = bool(ctx.check_runs.get(record.id) or record.extra.get(CHECK_RUN_ID))
    url = str(getattr(ctx.prometheus, "url", "") or "")
    return ps.Seen(
        pr.number if pr is not None else 0,
        pr.body if pr is not None else "",
        tuple(sorted(holds.services())),
        holds,
        known,
        prometheus_url=url,
    )


def _with_edit(
    ctx: StageCtx, what: ps.Seen, record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan
) -> ps.Seen:
    """A step about to start: its edit on the branch head (read now), or why it cannot be
    made (a glob matching nothing, a manifest that does not parse, an image gone)."""
    git = git_for(ctx, step)
    tags = dict(promotion.tags)
    try:
        tip = git.tip(branch_for(ctx, record, step))
        owners = pm.step_files(ctx.config, step, tip.files, tags)
        edit = pm.edit_step(ctx.config, git.read(tip, sorted(owners)), owners, tags)
    except ConfigError as exc:
        return replace(what, problems=tuple(exc.problems))
    return replace(what, edit=edit, base=tip)
