"""Promotion, performed: for each merged or promoting train, one move per round.

Reads the manifests at the base branch's head, asks `bot.core.promotion` for the edits,
writes them as ONE commit per stage or wave through the Git Data API (tree on `base_tree`,
commit, ref update without force), rebuilding on the new tip with bounded, jittered retries
when somebody pushed in between. Soaks, judges SLOs through `bot.core.slo.evaluate`,
hands a breach to `bot.shell.rollback`, records each step in the ledger (compare-and-swap,
like the lifecycle), and keeps GitHub Deployments and the train PR's stage table true to the ledger.
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
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core.chatops import PROMOTE_REASON
from bot.core.ledger import TrainRecord
from bot.core.train import COMPLETED, MERGED, PROMOTING
from bot.errors import ConfigError, ExternalError
from bot.shell import ledger_trust
from bot.shell.promote_moves import (
    Decided,
    decide_move,
    follow_on,
    judge_step,
    next_after_pass,
)
from bot.shell.rollback import release_holds, revert, unsure
from bot.shell.stage_io import (
    PromoteRun,
    StageCtx,
    branch_for,
    git_for,
    read_holds,
    record_step,
    update_table,
    via_pull,
    write_edits,
)

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
) -> PromoteRun:
    """One move for every merged or promoting train; raises `LedgerMoved` when a ledger
    swap is lost (the caller reads again and calls again)."""
    run = PromoteRun()
    ctx = StageCtx(
        client, config, snap, now, prometheus, GitData(client), run, sleep, rng or random.Random()
    )
    plan = pm.plan_steps(config) if pm.configured(config) else ()
    if dry_run:
        for held in read_holds(client, snap.tip).held:
            run.done.append(f"held: {held.service} (train {held.train}: {held.reason})")
    else:
        try:
            release_holds(ctx)
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


# -- one train ------------------------------------------------------------------------------


def _one_train(
    ctx: StageCtx, record: TrainRecord, plan: tuple[pm.StepPlan, ...], dry_run: bool
) -> None:
    """Decide the train's move from what is read (changed files, holds, SLO verdicts: the
    same reads for `plan` and `reconcile`), then, unless a dry run, carry it out."""
    if record.state not in (MERGED, PROMOTING) or not plan:
        return
    if record.state == MERGED and not set(record.boarded_numbers()) <= set(record.landed):
        return  # the lifecycle lands the boarded PRs first
    if ledger_trust.refused(ctx.client, ctx.config, record, ctx.run.problems, dry_run):
        return  # its record does not agree with GitHub (bot.shell.ledger_trust)
    try:
        decided = decide_move(ctx, record, plan)
        if decided is None:
            return
        ctx.run.moves.append(decided.action)
        if dry_run:
            ctx.run.done.append(decided.action.describe())
            follow = follow_on(ctx, decided, plan)
            if follow is not None:
                ctx.run.moves.append(follow)
                ctx.run.done.append(follow.describe())
            return
        _carry_out(ctx, decided, plan)
    except ExternalError as exc:
        ctx.run.problems.append(f"{record.id}: {exc.message}")


def _carry_out(ctx: StageCtx, decided: Decided, plan: tuple[pm.StepPlan, ...]) -> None:
    """Perform one typed move (the only place promotion moves are acted on)."""
    move, record, promotion = decided.action.move, decided.record, decided.promotion
    results = list(decided.results)
    step = next((s for s in plan if s.name == move.step), None)
    kind = move.kind
    if kind == pm.MoveKind.START and step is not None:
        _start(ctx, record, promotion, step)
    elif kind == pm.MoveKind.PASS and step is not None:
        record, promotion = _pass(ctx, record, promotion, step, results)
        ctx.run.performed.append(decided.action)
        _after_pass(ctx, record, plan, promotion)
        return
    elif kind == pm.MoveKind.COMPLETE:
        _finish(ctx, record, move.reason)
    elif kind == pm.MoveKind.REVERT:
        doubtful = results and not any(r.verdict.value == "fail" for r in results)
        reason = "SLO verdict unsure past inconclusive_after" if doubtful else move.reason
        revert(ctx, record, plan, promotion, results, reason)
    elif kind in (pm.MoveKind.HOLD, pm.MoveKind.ABORT) and step is not None:
        unsure(ctx, record, promotion, step, results, kind.value, decided.failures)
    elif kind == pm.MoveKind.WAIT and step is not None:
        _soaking(ctx, record, promotion, step, decided.failures)
        ctx.run.wake(move.until)
    ctx.run.performed.append(decided.action)


def _start(ctx: StageCtx, record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan) -> None:
    branch = branch_for(ctx, record, step)
    tags = dict(promotion.tags)
    git = git_for(ctx, step)
    try:
        sha, bumps = write_edits(
            ctx,
            git,
            branch,
            lambda tip: pm.step_files(ctx.config, step, tip.files, tags),
            tags,
            lambda lines: pm.promote_message(record.id, step, lines),
            via_pull(ctx, record, step, "promote"),
        )
    except ConfigError as exc:
        _stage_failed(ctx, record, promotion, step, exc)
        return
    if any(b.old == b.new for b in bumps):  # the files were at the tags already
        sha, bumps = _adopt(git, branch, record, step, sha, bumps)
    payload = {"train": record.id, "stage": step.stage, "tags": tags}
    deployment, made = git.deployment(step.name, sha, payload)
    soaking = f"{record.id} soaking in {step.name}"
    git.deployment_status(deployment, "in_progress", soaking, look=not made)
    state = pm.StepState(step.name, pm.SOAKING, sha, ctx.now, bumps=bumps, deployment=deployment)
    promotion = promotion.with_step(state)
    if record.state == MERGED:
        record = replace(record, state=PROMOTING, state_since=ctx.now)
        record = record.with_event(PROMOTING, ctx.now)
    record = pm.store(record, promotion).with_event("stage-started", ctx.now, detail=step.name)
    trailers = [("Stage", step.name), ("Commit", sha)]
    trailers += [("Bump", b.trailer()) for b in bumps]
    record_step(ctx, record, "stage-started", trailers)
    ctx.run.done.append(f"promote {record.id} to {step.name} at {sha[:12]}")
    ctx.run.wake(ctx.now + step.soak)


def _adopt(
    git: GitData,
    branch: str,
    record: TrainRecord,
    step: pm.StepPlan,
    sha: str,
    bumps: tuple[pm.BumpLine, ...],
) -> tuple[str, tuple[pm.BumpLine, ...]]:
    """Files already at the train's tags: after a crash between a bump's ref update and
    its ledger write, that bump is this train's own promote commit, somewhere in the
    branch's recent history (others may have pushed since). Adopt it, its sha and the
    tags it replaced, so the deployment names it and a revert restores them. One request
    (the newest commits touching one of the step's files), paid only in this case."""
    path = next((f for b in bumps for f in b.files), "")
    found = pm.landed_step(git.recent_commits(branch, path), record.id, step.name, bumps)
    return found if found is not None else (sha, bumps)


def _stage_failed(
    ctx: StageCtx, record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan, exc: ConfigError
) -> None:
    """Bad input (a manifest that no longer parses, a glob matching nothing, an image gone):
    nothing was written; say where and why on the train PR and in the ledger."""
    reason = "; ".join(p.render() for p in exc.problems)
    failed = replace(promotion.current() or pm.StepState(step.name), status=pm.FAILED)
    promotion = replace(promotion.with_step(failed), error=f"{step.name}: {reason}")
    record = pm.store(record, promotion).with_event("stage-failed", ctx.now, detail=reason)
    if record.train_pr:
        body = (
            f"🛑 Promotion of **{record.id}** to **{step.name}** failed: nothing was written.\n\n"
        )
        body += "\n".join(f"- `{p.render()}`" for p in exc.problems)
        ctx.client.post_comment(record.train_pr, body, f"stage-failed:{record.id}:{step.name}")
    record_step(ctx, record, "stage-failed", [("Stage", step.name), ("Reason", reason)])


def _pass(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    results: Sequence[Any],
) -> tuple[TrainRecord, pm.Promotion]:
    state = promotion.current()
    assert state is not None
    soaked = state.started is not None and ctx.now >= state.started + step.soak
    skipped_by = "" if soaked else record.promote_requested
    why = str(record.extra.get(PROMOTE_REASON) or "") if skipped_by else ""
    summary = _summary(results) or ("soak skipped" if skipped_by else "soak passed")
    if state.deployment:
        git_for(ctx, step).deployment_status(state.deployment, "success", f"{record.id}: {summary}")
    passed = replace(
        state,
        status=pm.PASSED,
        verdict="pass",
        finished=ctx.now,
        unsure_since=None,
        failures=(),
        skipped_by=skipped_by,
        skip_reason=why,
    )
    record = pm.store(record, promotion.with_step(passed))
    extra = {k: v for k, v in record.extra.items() if k != PROMOTE_REASON}
    record = replace(record, promote_requested="", extra=extra)
    detail = f"{step.name} pass" + (f" (soak skipped: {why})" if why else "")
    done = record.with_event("stage-verdict", ctx.now, skipped_by, detail)
    done = done.with_event("stage-completed", ctx.now, detail=step.name)
    trailers = [("Stage", step.name), ("Verdict", "pass"), ("Evidence", summary)]
    if skipped_by:
        trailers.append(("Skipped-By", skipped_by))
        trailers += [("Reason", why)] if why else []
    # the verdict and the completion in ONE ledger commit (both `Event` trailers): a crash
    # cannot record the one without the other, and a pass costs one write, not two
    also = ("stage-completed",)
    record_step(ctx, done, "stage-verdict", trailers, actor=skipped_by, also=also)
    return done, promotion.with_step(passed)


def _after_pass(
    ctx: StageCtx, record: TrainRecord, plan: Sequence[pm.StepPlan], promotion: pm.Promotion
) -> None:
    """The next step starts (or the train completes) in the same round as the pass: what
    it needs is what was just written, so the world is not read again in between."""
    follow = next_after_pass(ctx, record, plan, promotion)
    if follow is None:
        return
    step = next((s for s in plan if s.name == follow.move.step), None)
    if follow.move.kind == pm.MoveKind.START and step is not None:
        _start(ctx, record, promotion, step)
    elif follow.move.kind == pm.MoveKind.COMPLETE:
        _finish(ctx, record, "")
    ctx.run.performed.append(follow)


def _summary(results: Sequence[Any]) -> str:
    return "; ".join(f"{r.slo}/{r.service} {r.verdict.value}" for r in results)


def _finish(ctx: StageCtx, record: TrainRecord, reason: str) -> None:
    record = replace(record, state=COMPLETED, state_since=ctx.now, end_reason=reason)
    record = record.with_event(COMPLETED, ctx.now, detail=reason)
    record_step(ctx, record, "completed", [])


def _soaking(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    failures: tuple[Any, ...] = (),
) -> None:
    """Soaking with nothing unsure or failing: forget an earlier unsure verdict and a
    streak of failing checks that a pass ended (recorded once)."""
    state = promotion.current()
    if state is None:
        update_table(ctx, record)
        return
    cleared = replace(state, unsure_since=None, verdict="", failures=failures)
    if cleared == state:
        update_table(ctx, record)
        return
    record = pm.store(record, promotion.with_step(cleared))
    record = record.with_event("stage-verdict", ctx.now, detail=f"{step.name} pass so far")
    record_step(ctx, record, "stage-verdict", [("Stage", step.name), ("Verdict", "pass")])
