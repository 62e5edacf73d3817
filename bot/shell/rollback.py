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
    abort_notice,
    incident_body,
    incident_title,
    revert_steps,
)
from bot.core.train import ROLLED_BACK
from bot.shell.stage_io import (
    Link,
    StageCtx,
    branch_for,
    git_for,
    read_holds,
    record_step,
    via_pull,
    write_chain,
    write_edits,
)


def unsure(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    results: Sequence[Any],
    action: str,
    failures: tuple[Any, ...] = (),
) -> None:
    """Inconclusive or error, or failing under `failure_limit`: hold the stage (never
    promote) and record the streaks of failing checks; after `inconclusive_after`, `abort`
    ends the train `aborted` (`abort_train`)."""
    from bot.core.slo.streak import failing_text

    state = promotion.current()
    assert state is not None
    doubt = [r for r in results if r.verdict.value in ("inconclusive", "error") and not r.observe]
    worst = "error" if any(r.verdict.value == "error" for r in results) else "inconclusive"
    reasons = "; ".join(f"{r.slo}/{r.service}: {r.reason}" for r in results if r.verdict != "pass")
    if action == "abort":
        abort_train(ctx, record, promotion, step, worst, reasons)
        return
    slos = {n: ctx.config.slo(n) for n in step.slos}
    streaks = failing_text(failures, slos)
    reasons = "; ".join(x for x in (reasons, streaks) if x)
    since = (state.unsure_since or ctx.now) if doubt else None
    verdict = worst if doubt else "failing"
    held = replace(state, unsure_since=since, verdict=verdict, failures=failures)
    wakes = [since + s.inconclusive_after for s in slos.values() if since and s.inconclusive_after]
    wakes += [ctx.now + slos[f.slo].interval for f in failures if f.slo in slos]
    ctx.run.wake(min((w for w in wakes if w > ctx.now), default=None))
    if held == state:
        return
    record = pm.store(record, promotion.with_step(held))
    record = record.with_event("stage-verdict", ctx.now, detail=f"{step.name} {verdict}")
    trailers = [("Stage", step.name), ("Verdict", verdict), ("Evidence", reasons)]
    record_step(ctx, record, "stage-verdict", trailers)


SLO_INCONCLUSIVE = "slo-inconclusive"


def abort_train(
    ctx: StageCtx,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    worst: str,
    reasons: str,
) -> None:
    """`on_inconclusive: abort` past `inconclusive_after`: the train ends `aborted` (reason
    `slo-inconclusive`, the same terminal transition as the lifecycle's deadline), no
    further stage is bumped and bumped stages stay as they are; the step's deployment turns
    `failure`, the promotion check run fails, the train PR says what to do, and the ledger
    records it in one commit."""
    from bot.core.decide import abort

    state = promotion.current()
    assert state is not None
    stopped = replace(
        state, verdict=f"{worst} (aborted)", finished=ctx.now,
        unsure_since=state.unsure_since or ctx.now,
    )  # fmt: skip
    why = f"{step.name}: SLO verdict {worst} past inconclusive_after, train aborted"
    promotion = replace(promotion.with_step(stopped), error=why)
    bumped = [(s.name, s.status, s.commit) for s in promotion.steps if s.commit]
    rest = [s.name for s in promotion.steps if not s.commit]
    left = ", ".join(name for name, _, _ in bumped) or "none"
    detail = f"{step.name} {worst}: {reasons}; stages left bumped: {left}"
    record = abort(pm.store(record, promotion), SLO_INCONCLUSIVE, ctx.now, detail=detail)
    if state.deployment:
        text = f"{record.id} aborted: SLO verdict {worst}; left deployed"
        git_for(ctx, step).deployment_status(state.deployment, "failure", text)
    if record.train_pr:
        body = abort_notice(record.id, step.name, worst, reasons, bumped, rest)
        ctx.client.post_comment(record.train_pr, body, f"{SLO_INCONCLUSIVE}:{record.id}")
    trailers = [("Stage", step.name), ("Verdict", worst)]  # Reason: the record's end_reason
    trailers += [("Evidence", reasons)] if reasons else []
    record_step(ctx, record, "abort", trailers)  # the lifecycle names an abort so too
    ctx.run.done.append(f"abort {record.id} ({step.name} {worst} past inconclusive_after)")


# -- revert --------------------------------------------------------------------------------


def revert(
    ctx: StageCtx,
    record: TrainRecord,
    plan: Sequence[pm.StepPlan],
    promotion: pm.Promotion,
    results: Sequence[Any],
    reason: str,
) -> None:
    """Commit the reverse of every bump the train made (newest step first, one chain and
    one ref update per branch), hold its services, open the incident, say so on the train
    PR, mark the train rolled back: ONE ledger commit (the fail verdict, the commits, the
    holds), the stage table and check run once. A rerun after a crash finds the files
    already reverted, the incident and the comment by their markers, and converges."""
    actor = record.rollback_requested
    failing = [r for r in results if r.verdict.value == "fail"]
    evidence = [r.evidence for r in failing if r.evidence]
    current = promotion.current()
    verdict: list[tuple[str, str]] = []
    if failing and current is not None:
        failed = replace(current, verdict="fail", evidence=tuple(evidence), finished=ctx.now)
        promotion = promotion.with_step(failed)
        record = record.with_event("stage-verdict", ctx.now, detail=f"{current.name} fail")
        verdict = [("Stage", current.name), ("Verdict", "fail")]
    by_name = {s.name: s for s in plan}
    promotion, commits, fresh = _revert_commits(ctx, record, by_name, promotion, evidence)
    _deployments_after_revert(ctx, record, promotion, current, by_name)
    why = reason if not actor else f"rollback requested by @{actor}"
    services = sorted(promotion.tags)
    holds = holds_mod.hold(read_holds(ctx.client, ctx.snap.tip), services, record.id, why, ctx.now)
    rows = [EvidenceRow(r.slo, r.stage, r.service, r.verdict.value, r.evidence) for r in failing]
    incident = _incident(ctx, record, current, why, rows, commits, services, look=not fresh)
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
    trailers = verdict + [("Evidence", e) for e in evidence] + [("Incident", f"#{incident}")]
    trailers += [("Commit", sha) for _, sha in commits]
    trailers += [("Event", "held")] + [("Service", s) for s in services]
    files = {holds_mod.HOLDS_PATH: holds_mod.encode(holds)}
    also = ("stage-verdict",) if verdict else ()  # a breach: its fail verdict rides along
    record_step(ctx, record, "rolled-back", trailers, files=files, actor=actor, also=also)
    ctx.run.done.append(f"roll back {record.id} ({len(commits)} revert commits)")


def _revert_commits(
    ctx: StageCtx,
    record: TrainRecord,
    steps: dict[str, pm.StepPlan],
    promotion: pm.Promotion,
    evidence: Sequence[str],
) -> tuple[pm.Promotion, list[tuple[str, str]], bool]:
    """One revert commit per step the train committed, newest first, chained per branch
    (one ref update each; a stage taking pull requests: one PR per step): (promotion with
    the steps marked reverted, [(step, revert commit)], fresh). `fresh`: a chain moved its
    ref in this round, so no earlier attempt got past its commits to open the incident."""
    actor = record.rollback_requested
    chains: dict[tuple[str, str], list[tuple[str, Link]]] = {}
    commits: list[tuple[str, str]] = []
    fresh = False
    for rs in revert_steps(promotion):
        step = steps[rs.step]
        git, branch = git_for(ctx, step), branch_for(ctx, record, step)
        message = pm.revert_message(record.id, rs.step, rs.reverts, evidence, actor)
        head = via_pull(ctx, record, step, "revert")
        if head:
            sha, _ = write_edits(ctx, git, branch, _files_of(rs), rs.tags, _fixed(message), head)
            commits.append((rs.step, sha))
        else:
            link = Link(rs.files, rs.tags, message)
            chains.setdefault((git.client.repo, branch), []).append((rs.step, link))
    for (_, branch), chain in chains.items():
        git = git_for(ctx, steps[chain[0][0]])
        shas, moved = write_chain(ctx, git, branch, [link for _, link in chain])
        fresh = fresh or moved
        commits += [(name, sha) for (name, _), sha in zip(chain, shas, strict=True)]
    order = [rs.step for rs in revert_steps(promotion)]
    commits.sort(key=lambda c: order.index(c[0]))
    for name, sha in commits:
        state = next(s for s in promotion.steps if s.name == name)
        promotion = promotion.with_step(replace(state, status=pm.REVERTED, revert_commit=sha))
    return promotion, commits, fresh


def _files_of(rs: RevertStep) -> Callable[[Tip], dict[str, tuple[str, ...]]]:
    def owners(tip: Tip) -> dict[str, tuple[str, ...]]:
        return {f: tuple(rs.tags) for f in rs.files if f in tip.files}

    return owners


def _fixed(message: str) -> Callable[[tuple[pm.BumpLine, ...]], str]:
    return lambda _lines: message


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
    *,
    look: bool,
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
        look=look,
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
