"""When a stage is not passing: an unsure verdict holds the stage (and, past
`inconclusive_after`, the train); a breach or `/train rollback` reverts every bump the train
made, holds its services and opens the incident; `/train resume` releases the holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.adapters.gitdata import Tip
from bot.config.model import Config
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core.ledger import TrainRecord, decode, record_path
from bot.core.revert import (
    EvidenceRow,
    RevertStep,
    incident_body,
    incident_title,
    revert_steps,
)
from bot.core.train import ROLLED_BACK
from bot.shell.stage_io import (
    StageCtx,
    branch_for,
    git_for,
    read_holds,
    record_step,
    via_pull,
    write_edits,
)


def unsure(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    results: Sequence[Any],
    action: str,
) -> None:
    """Inconclusive or error: hold the stage (never promote); after `inconclusive_after`,
    `abort` holds the whole train until someone looks."""
    state = promotion.current()
    assert state is not None
    worst = "error" if any(r.verdict.value == "error" for r in results) else "inconclusive"
    held = replace(state, unsure_since=state.unsure_since or ctx.now, verdict=worst)
    changed = held != state
    limits = [ctx.config.slo(n).inconclusive_after for n in step.slos]
    since = held.unsure_since or ctx.now
    ctx.run.wake(min((since + x for x in limits if x and since + x > ctx.now), default=None))
    record = pm.store(record, promotion.with_step(held))
    reasons = "; ".join(f"{r.slo}/{r.service}: {r.reason}" for r in results if r.verdict != "pass")
    if action == "abort" and not record.held:
        record = replace(record, held=True, hold_reason=f"SLO verdict {worst} too long")
        record = record.with_event("hold", ctx.now, detail=reasons)
        changed = True
    if not changed:
        return
    record = record.with_event("stage-verdict", ctx.now, detail=f"{step.name} {worst}")
    trailers = [("Stage", step.name), ("Verdict", worst), ("Evidence", reasons)]
    record_step(ctx, record, "stage-verdict", trailers)


# -- revert --------------------------------------------------------------------------------


def revert(
    ctx: StageCtx,
    record: TrainRecord,
    plan: Sequence[pm.StepPlan],
    promotion: pm.Promotion,
    results: Sequence[Any],
    reason: str,
) -> None:
    """Commit the reverse of every bump the train made (newest step first), hold its
    services, open the incident, say so on the train PR, mark the train rolled back."""
    actor = record.rollback_requested
    failing = [r for r in results if r.verdict.value == "fail"]
    evidence = [r.evidence for r in failing if r.evidence]
    current = promotion.current()
    if failing and current is not None:
        record = _fail_verdict(ctx, record, promotion, current, evidence)
        promotion = pm.load(record)
    by_name = {s.name: s for s in plan}
    promotion, commits = _revert_commits(ctx, record, by_name, promotion, evidence)
    _deployments_after_revert(ctx, record, promotion, current, by_name)
    why = reason if not actor else f"rollback requested by @{actor}"
    services = sorted(promotion.tags)
    holds = holds_mod.hold(read_holds(ctx.client, ctx.snap.tip), services, record.id, why, ctx.now)
    rows = [EvidenceRow(r.slo, r.stage, r.service, r.verdict.value, r.evidence) for r in failing]
    incident = _incident(ctx, record, current, why, rows, commits, services)
    promotion = replace(promotion, rolled_back=True, incident=incident)
    record = replace(
        pm.store(record, promotion),
        state=ROLLED_BACK,
        state_since=ctx.now,
        end_reason=why,
        rollback_requested="",
    ).with_event("rolled-back", ctx.now, actor, why)
    if record.train_pr:
        text = f"⏪ Release train **{record.id}** was rolled back: {why}. Incident: #{incident}."
        if evidence:
            text += "\n\n" + "\n".join(f"- `{e}`" for e in evidence)
        ctx.client.post_comment(record.train_pr, text, f"rolled-back:{record.id}")
    trailers = [("Evidence", e) for e in evidence] + [("Incident", f"#{incident}")]
    trailers += [("Commit", sha) for _, sha in commits]
    trailers += [("Event", "held")] + [("Service", s) for s in services]
    files = {holds_mod.HOLDS_PATH: holds_mod.encode(holds)}
    record_step(ctx, record, "rolled-back", trailers, files=files, actor=actor)
    ctx.run.done.append(f"roll back {record.id} ({len(commits)} revert commits)")


def _revert_commits(
    ctx: StageCtx,
    record: TrainRecord,
    steps: dict[str, pm.StepPlan],
    promotion: pm.Promotion,
    evidence: Sequence[str],
) -> tuple[pm.Promotion, list[tuple[str, str]]]:
    """One revert commit per step the train committed, newest first: (promotion with the
    steps marked reverted, [(step, revert commit)])."""
    actor = record.rollback_requested
    commits: list[tuple[str, str]] = []
    for rs in revert_steps(promotion):
        step = steps[rs.step]
        message = pm.revert_message(record.id, rs.step, rs.reverts, evidence, actor)
        sha, _ = write_edits(
            ctx,
            git_for(ctx, step),
            branch_for(ctx, record, step),
            _files_of(rs),
            rs.tags,
            _fixed(message),
            via_pull(ctx, record, step, "revert"),
        )
        commits.append((rs.step, sha))
        state = next(s for s in promotion.steps if s.name == rs.step)
        promotion = promotion.with_step(replace(state, status=pm.REVERTED, revert_commit=sha))
    return promotion, commits


def _files_of(rs: RevertStep) -> Callable[[Tip], dict[str, tuple[str, ...]]]:
    def owners(tip: Tip) -> dict[str, tuple[str, ...]]:
        return {f: tuple(rs.tags) for f in rs.files if f in tip.files}

    return owners


def _fixed(message: str) -> Callable[[tuple[pm.BumpLine, ...]], str]:
    return lambda _lines: message


def _fail_verdict(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    state: pm.StepState,
    evidence: Sequence[str],
) -> TrainRecord:
    failed = replace(state, verdict="fail", evidence=tuple(evidence), finished=ctx.now)
    record = pm.store(record, promotion.with_step(failed))
    record = record.with_event("stage-verdict", ctx.now, detail=f"{state.name} fail")
    trailers = [("Stage", state.name), ("Verdict", "fail")]
    trailers += [("Evidence", e) for e in evidence]
    record_step(ctx, record, "stage-verdict", trailers)
    return record


def _deployments_after_revert(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    current: pm.StepState | None,
    steps: dict[str, pm.StepPlan],
) -> None:
    for state in promotion.steps:
        if not state.deployment or state.name not in steps:
            continue
        failed = current is not None and state.name == current.name
        what = "failure" if failed else "inactive"
        git = git_for(ctx, steps[state.name])
        git.deployment_status(state.deployment, what, f"{record.id} rolled back")


def _incident(
    ctx: StageCtx,
    record: TrainRecord,
    current: pm.StepState | None,
    why: str,
    rows: Sequence[EvidenceRow],
    commits: Sequence[tuple[str, str]],
    services: Sequence[str],
) -> int:
    where = current.name if current is not None else "promotion"
    url = ctx.config.prometheus.url or str(getattr(ctx.prometheus, "url", "") or "")
    queries = {r.slo: _query(ctx.config, r) for r in rows}
    rows = [replace(r, query=queries.get(r.slo, "")) for r in rows]
    body = incident_body(record.id, record.train_pr, where, why, rows, commits, services, url)
    config = ctx.config.incident
    return ctx.git.open_incident(
        incident_title(record.id, where),
        body,
        list(config.labels),
        list(config.assignees),
        f"incident:{record.id}",
    )


def _query(config: Config, row: EvidenceRow) -> str:
    from bot.core.slo import render_query

    slo = config.slo(row.slo)
    template = slo.error_ratio or slo.latency or slo.good
    return render_query(template, row.stage, row.service, "5m") if template else ""


# -- releasing holds -----------------------------------------------------------------------


def release_holds(ctx: StageCtx) -> None:
    """`/train resume` on a rolled-back train's PR or incident issue, by someone with
    maintain permission, releases the services it holds (recorded in the ledger)."""
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
        asked = holds_mod.resume_requests(comments, first, ctx.client.bot_login())
        allowed = [(w, c) for w, c in asked if permitted("resume", ctx.client.permission(w))]
        if not allowed:
            continue
        who, comment_id = allowed[0]
        services = [h.service for h in holds.of_train(train_id)]
        holds = holds_mod.release(holds, train_id, who, ctx.now)
        detail = " ".join(services)
        record = record.with_event("released", ctx.now, who, detail)
        trailers = [("Service", s) for s in services]
        files = {holds_mod.HOLDS_PATH: holds_mod.encode(holds)}
        record_step(ctx, record, "released", trailers, files=files, actor=who)
        if record.train_pr:
            text = f"@{who} released the hold on {', '.join(f'`{s}`' for s in services)}."
            ctx.client.post_comment(record.train_pr, text, f"released:{comment_id}")


def _ended_record(ctx: StageCtx, train_id: str) -> TrainRecord | None:
    loaded = ctx.snap.ledger.record(train_id)
    if loaded is not None:
        return loaded
    sha = ctx.snap.tip.files.get(record_path(train_id))
    return decode(ctx.client.read_blob(sha)) if sha else None
