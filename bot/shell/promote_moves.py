"""Deciding a train's next promotion move: read what the move depends on (the services the
train carries and their tags, the holds, each soaking SLO's verdict from Prometheus), then
ask the pure state machine (`bot.core.promotion.next_move`). `plan` and `reconcile` decide
through here alike; `bot.shell.promote` turns the move into actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core import promotion as pm
from bot.core import promotion_health as ph
from bot.core.ledger import TrainRecord
from bot.core.promotion_artifacts import targets
from bot.shell.artifacts_io import recorded_set
from bot.shell.health_io import syncing_verdict
from bot.shell.retry_io import retried_services
from bot.shell.stage_io import StageCtx, read_holds

NOTHING_TO_PROMOTE = "nothing to promote (no service, or every one held)"


@dataclass(frozen=True)
class Decided:
    """A train's move, with what it was decided from (the record after `begin`, unwritten)."""

    action: act.Promote
    record: TrainRecord
    promotion: pm.Promotion
    results: tuple[Any, ...] = ()
    failures: tuple[Any, ...] = ()  # the step's streaks of failing checks after this one
    health: Any = None  # a syncing step's Argo CD verdict (bot.core.promotion_health)


def decide_move(
    ctx: StageCtx, record: TrainRecord, plan: tuple[pm.StepPlan, ...]
) -> Decided | None:
    promotion = pm.load(record)
    if not promotion.steps and not promotion.error:
        record, promotion = begin(ctx, record, plan)
        if not promotion.tags:
            move = pm.Move(pm.MoveKind.COMPLETE, reason=NOTHING_TO_PROMOTE)
            return Decided(act.Promote(record.id, move), record, promotion)
    if record.held and not record.rollback_requested:
        return None
    health = syncing_verdict(ctx, record, plan, promotion)  # Argo CD, before the soak
    move, results, failures = move_and_results(ctx, record, plan, promotion, health)
    action = act.Promote(record.id, move)
    return Decided(action, record, promotion, tuple(results), failures, health)


def next_after_pass(
    ctx: StageCtx, record: TrainRecord, plan: Sequence[pm.StepPlan], promotion: pm.Promotion
) -> act.Promote | None:
    if record.held or record.rollback_requested:
        return None
    move = pm.next_move(plan, promotion, ctx.now)
    if move.kind not in (pm.MoveKind.START, pm.MoveKind.COMPLETE):
        return None
    return act.Promote(record.id, move)


def move_and_results(
    ctx: StageCtx,
    record: TrainRecord,
    plan: Sequence[pm.StepPlan],
    promotion: pm.Promotion,
    health: Any = None,
) -> tuple[pm.Move, list[Any], tuple[Any, ...]]:
    """The move, the verdicts it was decided from, and the soaking step's streaks of
    failing checks counting this one (`bot.core.slo.streak`; for the carry-out to record)."""
    from bot.core.slo import stage_action
    from bot.core.slo.streak import count

    current = promotion.current()
    step = next((s for s in plan if current and s.name == current.name), None)
    results: list[Any] = []
    action = "ok"
    failures = current.failures if current is not None else ()
    soaking = current is not None and current.status == pm.SOAKING and current.started is not None
    if current is not None and step is not None and soaking and step.slos:
        results = judge_step(ctx.config, ctx.prometheus, step, current, promotion, ctx.now)
        slos = {n: ctx.config.slo(n) for n in step.slos}
        failures = count(current.failures, results, slos, ctx.now)
        since = current.unsure_since
        action = stage_action(results, slos.values(), since, ctx.now, failures)
    waited = None
    if health is not None and step is not None:  # a syncing step: Argo CD decides
        waited = ph.health_move(step, health, ctx.now)
        results = list(ph.failure_results(step, health))
    move = pm.next_move(
        plan,
        promotion,
        ctx.now,
        slo_action=action,
        skip_requested=bool(record.promote_requested),
        rollback_requested=bool(record.rollback_requested),
        health=waited,
    )
    if move.kind == pm.MoveKind.HOLD:
        error = any(r.verdict.value == "error" for r in results)
        move = replace(move, waits_on=pm.PROMETHEUS if error else pm.EVIDENCE)
    return move, results, failures


def judge_step(
    config: Config,
    prometheus: Any,
    step: pm.StepPlan,
    state: pm.StepState,
    promotion: pm.Promotion,
    now: datetime,
) -> list[Any]:
    """Every SLO of the step for every promoted service, judged at `now` (no Prometheus
    configured: each is `error`, so the stage holds)."""
    from bot.core.slo import SLOResult, Verdict, evaluate

    out = []
    for name in step.slos:
        slo = config.slo(name)
        for service in promotion.tags:
            if prometheus is None:
                why = "no Prometheus configured for a stage with SLOs"
                out.append(SLOResult(name, step.name, service, Verdict.ERROR, why))
                continue
            out.append(evaluate(prometheus, slo, step.name, service, now, state.started))
    return out


def begin(
    ctx: StageCtx, record: TrainRecord, plan: Sequence[pm.StepPlan]
) -> tuple[TrainRecord, pm.Promotion]:
    """Which services the train carries (from its PRs' changed paths) and their tags."""
    train = ctx.config.train(record.train)
    changed = ctx.git.changed_files(record.base_sha, record.release_sha or record.merge_sha)
    services = pm.services_for(ctx.config, train, changed)
    services += tuple(s for s in retried_services(ctx, record) if s not in services)
    held = read_holds(ctx.client, ctx.snap.tip).services()
    day = record.state_since or ctx.now
    tags = pm.target_tags(ctx.config, services, record.merge_sha, record.id, day, held)
    shipped = recorded_set(record)  # the artifact set, settled (bot.shell.artifacts_io)
    tags = tags if shipped is None else targets(shipped, held)
    promotion = pm.Promotion(tags=tags, steps=tuple(pm.StepState(s.name) for s in plan))
    skipped = sorted(set(services) & held)
    if skipped:
        record = record.with_event("held-skipped", ctx.now, detail=" ".join(skipped))
    return pm.store(record, promotion), promotion
