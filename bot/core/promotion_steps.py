"""A promotion move's steps, as actions (pure): from the move `bot.core.promotion.next_move`
chose and what was read this round (`Seen`), the side effects, the ledger record, and what
follows the record, for the one dispatcher (`bot.shell.dispatch`) to perform.

Every move that records something ends the same way (`recorded`): the side effects, then
the train's promotion check run if it was never made (before the write, so the write keeps
its id), the ledger commit, the train PR's stage table, and the check run updated. A value
only a write can tell (the bump commit's sha, a deployment's id, the revert commits, the
incident) is folded into the record by the dispatcher as it goes; see
`bot.core.promotion_actions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import promotion_refusals as refusals
from bot.core import promotion_table, release
from bot.core.chatops import PROMOTE_REASON
from bot.core.ledger import TrainRecord
from bot.core.train import COMPLETED, MERGED, PROMOTING
from bot.errors import Problem

POLL = timedelta(seconds=30)  # a stage waiting for Argo CD is looked at again this soon


@dataclass(frozen=True)
class Seen:
    """What a train's move is decided from besides its record: read this round."""

    pr_number: int = 0  # the train PR, when it was read (its stage table is ours)
    pr_body: str = ""
    held: tuple[str, ...] = ()  # services held (the stage table lists them)
    holds: holds_mod.Holds = field(default_factory=holds_mod.Holds)
    check_run_known: bool = False  # the train's promotion check run exists (its id is known)
    edit: pm.StepEdit | None = None  # a START: the step's edit on the branch head read
    base: Any = None  # ... that head (bot.adapters.gitdata.Tip)
    problems: tuple[Problem, ...] = ()  # ... or why it cannot be made (nothing is written)
    prometheus_url: str = ""


@dataclass(frozen=True)
class Steps:
    """A move's actions, the record and promotion they leave, and when to look again."""

    actions: tuple[act.Action, ...]
    record: TrainRecord
    promotion: pm.Promotion
    wake: datetime | None = None


def stage_of(config: Config, step: pm.StepPlan) -> Any:
    return next(s for s in config.stages if s.name == step.stage)


def branch_of(config: Config, record: TrainRecord, step: pm.StepPlan) -> str:
    return stage_of(config, step).branch or config.train(record.train).base


def head_of(config: Config, record: TrainRecord, step: pm.StepPlan, what: str) -> str:
    """The bot's head branch when the stage takes changes through pull requests ("" when
    it takes direct commits)."""
    if stage_of(config, step).mode != "pull_request":
        return ""
    return f"release-train/{what}/{record.id}/{step.name}"


def recorded(
    record: TrainRecord,
    events: Sequence[str],
    trailers: Sequence[tuple[str, str]],
    seen: Seen,
    *,
    effects: Sequence[act.Action] = (),
    actor: str = "",
    files: Mapping[str, str] | None = None,
) -> list[act.Action]:
    """The side effects, then the record (and the check run and stage table around it)."""
    before = not seen.check_run_known and bool(record.merge_sha)
    out: list[act.Action] = list(effects)
    if before:
        out.append(pa.PublishPromotionCheck(record.id, before=True))
    write = act.WriteLedger(
        record.id, tuple(events), record, actor, tuple(trailers), dict(files or {}), True
    )
    out.append(write)
    if seen.pr_number:
        out.append(pa.UpdateStageTable(record.id, seen.pr_number))
    if not before and record.merge_sha:
        out.append(pa.PublishPromotionCheck(record.id))
    return out


def _with_health(config: Config, record: TrainRecord, table: str) -> str:
    from bot.core.promotion_health import with_health

    return with_health(config, record, table)


def table_if_changed(
    config: Config, record: TrainRecord, promotion: pm.Promotion, seen: Seen
) -> list[act.Action]:
    """A move that records nothing still brings the train PR's stage table up to date."""
    if not seen.pr_number:
        return []
    blocked = refusals.line(record)  # bot.core.promotion_refusals
    table = promotion_table.stage_table(pm.plan_steps(config), promotion, seen.held, blocked)
    table = _with_health(config, record, table)
    if promotion_table.with_table(seen.pr_body, table) == seen.pr_body:
        return []
    return [pa.UpdateStageTable(record.id, seen.pr_number)]


# -- the moves ------------------------------------------------------------------------------


def start(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    seen: Seen,
    now: datetime,
) -> Steps:
    """Bump the step's manifests in one commit, open its deployment, soak."""
    if seen.problems or seen.edit is None:
        return stage_failed(record, promotion, step, seen, now)
    state = pm.StepState(step.name, pm.SOAKING, "", now, bumps=seen.edit.bumps)
    if stage_of(config, step).argocd is not None:  # the soak starts once Argo CD is healthy
        state = replace(state, started=None, bumped=now, verdict="syncing")
    promotion = promotion.with_step(state)
    if record.state == MERGED:
        record = replace(record, state=PROMOTING, state_since=now)
        record = record.with_event(PROMOTING, now)
    record = pm.store(record, promotion).with_event("stage-started", now, detail=step.name)
    tags = dict(promotion.tags)
    repository = stage_of(config, step).repository
    bump = pa.BumpStage(
        record.id,
        step.name,
        branch_of(config, record, step),
        tags,
        pm.promote_message(record.id, step, seen.edit.bumps),
        repository,
        head_of(config, record, step, "promote"),
        seen.base,
        seen.edit.files,
        seen.edit.bumps,
    )
    deploy = pa.StartDeployment(record.id, step.name, step.stage, tags, repository)
    actions = recorded(
        record, ["stage-started"], [("Stage", step.name)], seen, effects=[bump, deploy]
    )
    return Steps(tuple(actions), record, promotion, now + (step.soak if state.started else POLL))


def stage_failed(
    record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan, seen: Seen, now: datetime
) -> Steps:
    """Bad input (a manifest that no longer parses, a glob matching nothing, an image gone):
    nothing is written but the record; the train PR says where and why."""
    reason = "; ".join(p.render() for p in seen.problems)
    failed = replace(promotion.current() or pm.StepState(step.name), status=pm.FAILED)
    promotion = replace(promotion.with_step(failed), error=f"{step.name}: {reason}")
    record = pm.store(record, promotion).with_event("stage-failed", now, detail=reason)
    effects: list[act.Action] = []
    if record.train_pr:
        body = (
            f"🛑 Promotion of **{record.id}** to **{step.name}** failed: nothing was written.\n\n"
        )
        body += "\n".join(f"- `{p.render()}`" for p in seen.problems)
        key = f"stage-failed:{record.id}:{step.name}"
        effects.append(act.PostComment(record.id, record.train_pr, body, key))
    trailers = [("Stage", step.name), ("Reason", reason)]
    actions = recorded(record, ["stage-failed"], trailers, seen, effects=effects)
    return Steps(tuple(actions), record, promotion)


def passed(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    results: Sequence[Any],
    seen: Seen,
    now: datetime,
) -> Steps:
    """The step passed (soaked, or `/train promote` skipped the soak): its deployment turns
    `success`; the verdict and the completion in ONE ledger commit (both `Event` trailers)."""
    state = promotion.current()
    assert state is not None
    soaked = state.started is not None and now >= state.started + step.soak
    skipped_by = "" if soaked else record.promote_requested
    why = str(record.extra.get(PROMOTE_REASON) or "") if skipped_by else ""
    summary = summary_of(results) or ("soak skipped" if skipped_by else "soak passed")
    effects: list[act.Action] = []
    if state.deployment:
        effects.append(
            act.SetDeploymentStatus(
                record.id,
                step.name,
                state.deployment,
                "success",
                f"{record.id}: {summary}",
                stage_of(config, step).repository,
            )
        )
    done = replace(
        state,
        status=pm.PASSED,
        verdict="pass",
        finished=now,
        unsure_since=None,
        failures=(),
        skipped_by=skipped_by,
        skip_reason=why,
    )
    promotion = promotion.with_step(done)
    record = pm.store(record, promotion)
    extra = {k: v for k, v in record.extra.items() if k != PROMOTE_REASON}
    record = replace(record, promote_requested="", extra=extra)
    detail = f"{step.name} pass" + (f" (soak skipped: {why})" if why else "")
    record = record.with_event("stage-verdict", now, skipped_by, detail)
    record = record.with_event("stage-completed", now, detail=step.name)
    trailers = [("Stage", step.name), ("Verdict", "pass"), ("Evidence", summary)]
    if skipped_by:
        trailers.append(("Skipped-By", skipped_by))
        trailers += [("Reason", why)] if why else []
    events = ["stage-verdict", "stage-completed"]
    actions = recorded(record, events, trailers, seen, effects=effects, actor=skipped_by)
    return Steps(tuple(actions), record, promotion)


def summary_of(results: Sequence[Any]) -> str:
    return "; ".join(f"{r.slo}/{r.service} {r.verdict.value}" for r in results)


def complete(
    record: TrainRecord, promotion: pm.Promotion, reason: str, seen: Seen, now: datetime
) -> Steps:
    record = replace(record, state=COMPLETED, state_since=now, end_reason=reason)
    record = record.with_event(COMPLETED, now, detail=reason)
    effects = release.publish(record)  # the annotated tag and the Release, published
    return Steps(
        tuple(recorded(record, ["completed"], [], seen, effects=effects)), record, promotion
    )


def soaking(
    config: Config,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    failures: tuple[Any, ...],
    seen: Seen,
    now: datetime,
    until: datetime | None,
) -> Steps:
    """Soaking with nothing unsure or failing: forget an earlier unsure verdict and a streak
    of failing checks that a pass ended (recorded once); else only the stage table."""
    state = promotion.current()
    cleared = replace(state, unsure_since=None, verdict="", failures=failures) if state else None
    if state is None or cleared == state or cleared is None:
        return Steps(
            tuple(table_if_changed(config, record, promotion, seen)), record, promotion, until
        )
    promotion = promotion.with_step(cleared)
    record = pm.store(record, promotion)
    record = record.with_event("stage-verdict", now, detail=f"{step.name} pass so far")
    trailers = [("Stage", step.name), ("Verdict", "pass")]
    return Steps(
        tuple(recorded(record, ["stage-verdict"], trailers, seen)), record, promotion, until
    )


def released(
    record: TrainRecord,
    holds: holds_mod.Holds,
    who: str,
    comment_id: int,
    seen: Seen,
    now: datetime,
) -> tuple[list[act.Action], holds_mod.Holds]:
    """`/train resume` by someone allowed: release the services the train holds (one
    ledger commit with the holds file), then say so on the train PR."""
    services = [h.service for h in holds.of_train(record.id)]
    holds = holds_mod.release(holds, record.id, who, now)
    record = record.with_event("released", now, who, " ".join(services))
    trailers = [("Service", s) for s in services]
    files = {holds_mod.HOLDS_PATH: holds_mod.encode(holds)}
    actions = recorded(record, ["released"], trailers, seen, actor=who, files=files)
    if record.train_pr:
        text = f"@{who} released the hold on {', '.join(f'`{s}`' for s in services)}."
        actions.append(act.PostComment(record.id, record.train_pr, text, f"released:{comment_id}"))
    return actions, holds
