"""Promotion and revert, performed: for each merged or promoting train, one move per round.

Reads the manifests at the base branch's head, asks `bot.core.promotion` for the edits,
writes them as ONE commit per stage or wave through the Git Data API (tree on `base_tree`,
commit, ref update without force), rebuilding on the new tip with bounded, jittered retries
when somebody pushed in between. Soaks, judges SLOs through `bot.core.slo.evaluate`,
reverts on a breach, records each step in the ledger (compare-and-swap, like the lifecycle),
and keeps GitHub Deployments and the train PR's stage table true to the ledger.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.adapters.github import LedgerMoved
from bot.config.model import Config
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core.ledger import (
    INDEX_PATH,
    TrainRecord,
    commit_message,
    decode,
    decode_index,
    encode,
    encode_index,
    index_entry,
    record_path,
    transition_trailers,
)
from bot.core.revert import (
    EvidenceRow,
    RevertStep,
    incident_body,
    incident_title,
    revert_steps,
)
from bot.core.train import COMPLETED, MERGED, PROMOTING, ROLLED_BACK
from bot.errors import ConfigError, ExternalError

RETRIES = 5


@dataclass
class PromoteRun:
    """What one promotion pass did, and when time alone changes a decision."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    due: datetime | None = None

    def wake(self, at: datetime | None) -> None:
        if at is not None and (self.due is None or at < self.due):
            self.due = at


@dataclass
class _Ctx:
    client: Any
    config: Config
    snap: Any  # bot.shell.reconcile._Snapshot: tip, index, ledger, world (tip is advanced)
    now: datetime
    prometheus: Any
    git: GitData
    run: PromoteRun
    sleep: Callable[[float], None]
    rng: random.Random
    others: dict[str, Any] = field(default_factory=dict)  # GitOps repository -> its client


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
    ctx = _Ctx(
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
    ctx: _Ctx, record: TrainRecord, plan: tuple[pm.StepPlan, ...], dry_run: bool
) -> None:
    if record.state not in (MERGED, PROMOTING) or not plan:
        return
    if record.state == MERGED and not set(record.boarded_numbers()) <= set(record.landed):
        return  # the lifecycle lands the boarded PRs first
    if dry_run:
        move = _move(ctx, record, plan, judge=False)
        ctx.run.done.append(f"{record.id}: {move.kind} {move.step}".rstrip())
        return
    try:
        _promote(ctx, record, plan)
    except ExternalError as exc:
        ctx.run.problems.append(f"{record.id}: {exc.message}")


def _promote(ctx: _Ctx, record: TrainRecord, plan: tuple[pm.StepPlan, ...]) -> None:
    promotion = pm.load(record)
    if not promotion.steps and not promotion.error:
        record, promotion = _begin(ctx, record, plan)
        if not promotion.tags:
            _finish(ctx, record, "nothing to promote (no service, or every one held)")
            return
    if record.held and not record.rollback_requested:
        return
    move, results = _move_and_results(ctx, record, plan, promotion)
    step = next((s for s in plan if s.name == move.step), None)
    if move.kind == "start" and step is not None:
        _start(ctx, record, promotion, step)
    elif move.kind == "pass" and step is not None:
        _pass(ctx, record, promotion, step, results)
    elif move.kind == "complete":
        _finish(ctx, record, "")
    elif move.kind == "revert":
        unsure = results and not any(r.verdict.value == "fail" for r in results)
        reason = "SLO verdict unsure past inconclusive_after" if unsure else move.reason
        _revert(ctx, record, plan, promotion, results, reason)
    elif move.kind in ("hold", "abort") and step is not None:
        _unsure(ctx, record, promotion, step, results, move.kind)
    elif move.kind == "wait" and step is not None:
        _soaking(ctx, record, promotion, step)
        ctx.run.wake(move.until)


def _move(ctx: _Ctx, record: TrainRecord, plan: Sequence[pm.StepPlan], judge: bool) -> pm.Move:
    promotion = pm.load(record)
    if not judge:
        return pm.next_move(
            plan,
            promotion,
            ctx.now,
            skip_requested=bool(record.promote_requested),
            rollback_requested=bool(record.rollback_requested),
        )
    return _move_and_results(ctx, record, plan, promotion)[0]


def _move_and_results(
    ctx: _Ctx, record: TrainRecord, plan: Sequence[pm.StepPlan], promotion: pm.Promotion
) -> tuple[pm.Move, list[Any]]:
    from bot.core.slo import stage_action

    current = promotion.current()
    step = next((s for s in plan if current and s.name == current.name), None)
    results: list[Any] = []
    action = "ok"
    if current is not None and step is not None and current.status == pm.SOAKING and step.slos:
        results = judge_step(ctx.config, ctx.prometheus, step, current, promotion, ctx.now)
        slos = [ctx.config.slo(n) for n in step.slos]
        action = stage_action(results, slos, current.unsure_since, ctx.now)
    move = pm.next_move(
        plan,
        promotion,
        ctx.now,
        slo_action=action,
        skip_requested=bool(record.promote_requested),
        rollback_requested=bool(record.rollback_requested),
    )
    return move, results


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


def _begin(
    ctx: _Ctx, record: TrainRecord, plan: Sequence[pm.StepPlan]
) -> tuple[TrainRecord, pm.Promotion]:
    """Which services the train carries (from its PRs' changed paths) and their tags."""
    train = ctx.config.train(record.train)
    changed = ctx.git.changed_files(record.base_sha, record.release_sha or record.merge_sha)
    services = pm.services_for(ctx.config, train, changed)
    held = read_holds(ctx.client, ctx.snap.tip).services()
    day = record.state_since or ctx.now
    tags = pm.target_tags(ctx.config, services, record.merge_sha, record.id, day, held)
    promotion = pm.Promotion(tags=tags, steps=tuple(pm.StepState(s.name) for s in plan))
    skipped = sorted(set(services) & held)
    if skipped:
        record = record.with_event("held-skipped", ctx.now, detail=" ".join(skipped))
    return pm.store(record, promotion), promotion


def _branch(ctx: _Ctx, record: TrainRecord, step: pm.StepPlan) -> str:
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    return stage.branch or ctx.config.train(record.train).base


def _git(ctx: _Ctx, step: pm.StepPlan) -> GitData:
    """The repository a step writes to: this one, or the stage's separate GitOps
    repository (same installation token, API and cache)."""
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    repo = stage.repository
    if not repo or repo == getattr(ctx.client, "repo", repo):
        return ctx.git
    if repo not in ctx.others:
        from bot.adapters.github import GitHubClient

        c = ctx.client
        other = GitHubClient(
            repo, c.token, api_url=c.api_url, cache=c.cache, bot_login=c.bot_login()
        )
        ctx.others[repo] = other.__enter__()
    return GitData(ctx.others[repo])


def _via_pull(ctx: _Ctx, record: TrainRecord, step: pm.StepPlan, what: str) -> str:
    """The bot's head branch when the stage takes changes through pull requests ("" when
    it takes direct commits)."""
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    return f"release-train/{what}/{record.id}/{step.name}" if stage.mode == "pull_request" else ""


def _start(ctx: _Ctx, record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan) -> None:
    branch = _branch(ctx, record, step)
    tags = dict(promotion.tags)
    git = _git(ctx, step)
    try:
        sha, bumps = write_edits(
            ctx,
            git,
            branch,
            lambda tip: pm.step_files(ctx.config, step, tip.files, tags),
            tags,
            lambda lines: pm.promote_message(record.id, step, lines),
            _via_pull(ctx, record, step, "promote"),
        )
    except ConfigError as exc:
        _stage_failed(ctx, record, promotion, step, exc)
        return
    payload = {"train": record.id, "stage": step.stage, "tags": tags}
    deployment = git.create_deployment(step.name, sha, payload)
    git.deployment_status(deployment, "in_progress", f"{record.id} soaking in {step.name}")
    state = pm.StepState(step.name, pm.SOAKING, sha, ctx.now, bumps=bumps, deployment=deployment)
    promotion = promotion.with_step(state)
    if record.state == MERGED:
        record = replace(record, state=PROMOTING, state_since=ctx.now)
        record = record.with_event(PROMOTING, ctx.now)
    record = pm.store(record, promotion).with_event("stage-started", ctx.now, detail=step.name)
    trailers = [("Stage", step.name), ("Commit", sha)]
    trailers += [("Bump", b.trailer()) for b in bumps]
    _record(ctx, record, "stage-started", trailers)
    ctx.run.done.append(f"promote {record.id} to {step.name} at {sha[:12]}")
    ctx.run.wake(ctx.now + step.soak)


def _stage_failed(
    ctx: _Ctx, record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan, exc: ConfigError
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
    _record(ctx, record, "stage-failed", [("Stage", step.name), ("Reason", reason)])


def _pass(
    ctx: _Ctx,
    record: TrainRecord,
    promotion: pm.Promotion,
    step: pm.StepPlan,
    results: Sequence[Any],
) -> None:
    state = promotion.current()
    assert state is not None
    soaked = state.started is not None and ctx.now >= state.started + step.soak
    skipped_by = "" if soaked else record.promote_requested
    summary = _summary(results) or ("soak skipped" if skipped_by else "soak passed")
    if state.deployment:
        _git(ctx, step).deployment_status(state.deployment, "success", f"{record.id}: {summary}")
    passed = replace(
        state,
        status=pm.PASSED,
        verdict="pass",
        finished=ctx.now,
        unsure_since=None,
        skipped_by=skipped_by,
    )
    record = pm.store(record, promotion.with_step(passed))
    record = replace(record, promote_requested="")
    verdict = record.with_event("stage-verdict", ctx.now, skipped_by, f"{step.name} pass")
    trailers = [("Stage", step.name), ("Verdict", "pass"), ("Evidence", summary)]
    if skipped_by:
        trailers.append(("Skipped-By", skipped_by))
    _record(ctx, verdict, "stage-verdict", trailers, actor=skipped_by)
    done = verdict.with_event("stage-completed", ctx.now, detail=step.name)
    _record(ctx, done, "stage-completed", [("Stage", step.name)])


def _summary(results: Sequence[Any]) -> str:
    return "; ".join(f"{r.slo}/{r.service} {r.verdict.value}" for r in results)


def _finish(ctx: _Ctx, record: TrainRecord, reason: str) -> None:
    record = replace(record, state=COMPLETED, state_since=ctx.now, end_reason=reason)
    record = record.with_event(COMPLETED, ctx.now, detail=reason)
    _record(ctx, record, "completed", [])


def _soaking(ctx: _Ctx, record: TrainRecord, promotion: pm.Promotion, step: pm.StepPlan) -> None:
    """Soaking with nothing unsure: forget an earlier unsure verdict (recorded once)."""
    state = promotion.current()
    if state is None or state.unsure_since is None:
        _table(ctx, record)
        return
    cleared = replace(state, unsure_since=None, verdict="")
    record = pm.store(record, promotion.with_step(cleared))
    record = record.with_event("stage-verdict", ctx.now, detail=f"{step.name} pass so far")
    _record(ctx, record, "stage-verdict", [("Stage", step.name), ("Verdict", "pass")])


def _unsure(
    ctx: _Ctx,
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
    _record(ctx, record, "stage-verdict", trailers)


# -- revert --------------------------------------------------------------------------------


def _revert(
    ctx: _Ctx,
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
    _record(ctx, record, "rolled-back", trailers, files=files, actor=actor)
    ctx.run.done.append(f"roll back {record.id} ({len(commits)} revert commits)")


def _revert_commits(
    ctx: _Ctx,
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
            _git(ctx, step),
            _branch(ctx, record, step),
            _files_of(rs),
            rs.tags,
            _fixed(message),
            _via_pull(ctx, record, step, "revert"),
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
    ctx: _Ctx,
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
    _record(ctx, record, "stage-verdict", trailers)
    return record


def _deployments_after_revert(
    ctx: _Ctx,
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
        git = _git(ctx, steps[state.name])
        git.deployment_status(state.deployment, what, f"{record.id} rolled back")


def _incident(
    ctx: _Ctx,
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


# -- writing -------------------------------------------------------------------------------


def write_edits(
    ctx: _Ctx,
    git: GitData,
    branch: str,
    owners_of: Callable[[Tip], dict[str, tuple[str, ...]]],
    tags: dict[str, str],
    message_of: Callable[[tuple[pm.BumpLine, ...]], str],
    via_pull: str = "",
) -> tuple[str, tuple[pm.BumpLine, ...]]:
    """Apply `tags` on the head of `branch` in ONE commit; on a moved ref, read the new tip
    and apply the pure edits again (bounded, jittered retries). Files already at the tags:
    no commit, and the head's sha. Raises ConfigError on bad input (nothing written)."""
    for attempt in range(RETRIES):
        tip = git.tip(branch)
        owners = owners_of(tip)
        texts = git.read(tip, sorted(owners))
        edit = pm.edit_step(ctx.config, texts, owners, tags)
        if not edit.files:
            return tip.commit, edit.bumps
        message = message_of(edit.bumps)
        if via_pull:
            sha = git.commit_via_pull(branch, tip, edit.files, message, via_pull)
        else:
            sha = git.commit(branch, tip, edit.files, message)
        if sha is not None:
            return sha, edit.bumps
        ctx.sleep(ctx.rng.uniform(0, 0.05 * 2**attempt))
    raise ExternalError("GitHub", f"{branch} kept moving; promotion goes on next time")


def _record(
    ctx: _Ctx,
    record: TrainRecord,
    event: str,
    trailers: list[tuple[str, str]],
    *,
    files: dict[str, str] | None = None,
    actor: str = "",
) -> None:
    """One ledger commit (compare-and-swap), then the stage table on the train PR.

    A lost swap to a write that touched neither this train's file nor the other files
    written here (another train moved) is retried on the new tip: a base-branch commit
    already made is then never left out of the ledger. Otherwise `LedgerMoved` propagates
    and the caller reads again."""
    base = transition_trailers((event,), record, actor=actor)
    message = commit_message(event, record.id, base + trailers)
    own = [record_path(record.id), *(files or {})]
    for attempt in range(RETRIES):
        ctx.snap.index[record.id] = index_entry(record)
        written = {
            record_path(record.id): encode(record),
            INDEX_PATH: encode_index(ctx.snap.index),
            **(files or {}),
        }
        try:
            tip = ctx.client.write_ledger(ctx.config.ledger_branch, ctx.snap.tip, written, message)
            break
        except LedgerMoved:
            fresh = ctx.client.ledger_tip(ctx.config.ledger_branch)
            if attempt == RETRIES - 1 or any(
                fresh.files.get(p) != ctx.snap.tip.files.get(p) for p in own
            ):
                raise
            index_sha = fresh.files.get(INDEX_PATH)
            ctx.snap.index = decode_index(ctx.client.read_blob(index_sha)) if index_sha else {}
            ctx.snap.tip = fresh
    ctx.snap.tip = tip
    ctx.run.done.append(f"record {event} for {record.id}")
    _table(ctx, record)
    _check_run(ctx, record)


def _table(ctx: _Ctx, record: TrainRecord) -> None:
    """The train PR's stage table, written only when it differs."""
    pr = ctx.snap.world.pull(record.train_pr) if record.train_pr else None
    if pr is None:
        return
    plan = pm.plan_steps(ctx.config)
    held = sorted(read_holds(ctx.client, ctx.snap.tip).services())
    table = pm.stage_table(plan, pm.load(record), held)
    body = pm.with_table(pr.body, table)
    if body != pr.body:
        ctx.client.update_pull(pr.number, body=body)
        ctx.snap.world.pulls[pr.number] = replace(pr, body=body)
        ctx.run.done.append(f"update the stage table on #{pr.number}")


CHECK_RUN = "release-train/promotion"


def check_run_body(record: TrainRecord, table: str) -> dict[str, Any]:
    """The `release-train/promotion` check run on the merge commit: in progress while
    promoting, then success (completed) or failure (rolled back, or a stage failed)."""
    promotion = pm.load(record)
    body: dict[str, Any] = {
        "name": CHECK_RUN,
        "head_sha": record.merge_sha,
        "external_id": record.id,
        "output": {"title": f"{record.id}: {record.state}", "summary": table},
    }
    if record.state == COMPLETED:
        body.update(status="completed", conclusion="success")
    elif record.state == ROLLED_BACK or promotion.error:
        body.update(status="completed", conclusion="failure")
    else:
        body["status"] = "in_progress"
    return body


def _check_run(ctx: _Ctx, record: TrainRecord) -> None:
    if not record.merge_sha:
        return
    held = sorted(read_holds(ctx.client, ctx.snap.tip).services())
    table = pm.stage_table(pm.plan_steps(ctx.config), pm.load(record), held)
    body = check_run_body(record, table)
    run_id = ctx.git.check_run_id(record.merge_sha, CHECK_RUN)
    if not run_id:
        ctx.client.publish_check_run(body)
    else:
        update = {k: v for k, v in body.items() if k != "head_sha"}
        ctx.client.publish_check_run(update, run_id)


def read_holds(client: Any, tip: Any) -> holds_mod.Holds:
    sha = tip.files.get(holds_mod.HOLDS_PATH) if tip is not None else None
    return holds_mod.decode(client.read_blob(sha) if sha else None)


# -- the Git Data API and the other GitHub calls promotion needs ------------------------


@dataclass(frozen=True)
class Tip:
    """A branch head as read: commit, its tree, and path -> blob sha of every file."""

    commit: str
    tree: str
    files: dict[str, str]


class GitData:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _url(self, path: str) -> str:
        return f"/repos/{self.client.repo}{path}"

    def tip(self, branch: str) -> Tip:
        """The head of `branch` with its full file listing (one ref read, then cached)."""
        status, body, _ = self.client._get(self._url(f"/git/ref/heads/{quote(branch)}"))
        if status >= 400 or not isinstance(body, dict):
            raise ExternalError("GitHub", f"branch {branch}: {status}", status=status)
        commit = str(body["object"]["sha"])
        tree = str(self.client._object("commits", commit)["tree"]["sha"])
        key = "tree:" + tree
        with self.client.cache.lock:
            listing = self.client.cache.objects.get(key)
        if listing is None:
            url = self._url(f"/git/trees/{tree}")
            listing = self.client._get_ok(url, {"recursive": 1}, "tree " + tree)
            with self.client.cache.lock:
                self.client.cache.objects[key] = listing
        files = {e["path"]: e["sha"] for e in listing.get("tree", []) if e.get("type") == "blob"}
        return Tip(commit, tree, files)

    def read(self, tip: Tip, paths: list[str]) -> dict[str, str]:
        return {p: self.client.read_blob(tip.files[p]) for p in paths}

    def _commit_object(self, tip: Tip, files: dict[str, str], message: str) -> str:
        entries = [
            {"path": p, "mode": "100644", "type": "blob", "content": text}
            for p, text in sorted(files.items())
        ]
        tree = self._post(self._url("/git/trees"), {"tree": entries, "base_tree": tip.tree})
        body = {"message": message, "tree": tree["sha"], "parents": [tip.commit]}
        return str(self._post(self._url("/git/commits"), body)["sha"])

    def commit_via_pull(
        self, branch: str, tip: Tip, files: dict[str, str], message: str, head: str
    ) -> str | None:
        """For a branch that takes changes only through pull requests: the commit on
        branch `head` (ours, moved by force), a PR into `branch` (or the open one), merged
        at exactly that commit. The merge commit's sha, or None when GitHub refuses."""
        sha = self._commit_object(tip, files, message)
        url = self._url(f"/git/refs/heads/{quote(head)}")
        response = self.client._call("PATCH", url, json={"sha": sha, "force": True})
        if response.status_code != 200:
            self._post(self._url("/git/refs"), {"ref": f"refs/heads/{head}", "sha": sha})
        title, _, body = message.partition("\n")
        pr = self.client.open_pull(head, branch, title, body.strip())
        merged = self.client.merge_pull(pr.number, sha, title, body.strip() + "\n")
        return None if merged is None else str(merged)

    def commit(self, branch: str, tip: Tip, files: dict[str, str], message: str) -> str | None:
        """One commit on `tip` setting `files`, then move `branch` to it without force.
        The new commit's sha, or None when the branch moved since `tip` was read."""
        commit = {"sha": self._commit_object(tip, files, message)}
        url = self._url(f"/git/refs/heads/{quote(branch)}")
        response = self.client._call("PATCH", url, json={"sha": commit["sha"], "force": False})
        if response.status_code == 422:
            return None
        if response.status_code != 200:
            raise self.client._fail(response, f"move {branch}")
        return str(commit["sha"])

    def _post(self, url: str, body: dict[str, Any]) -> Any:
        response = self.client._call("POST", url, json=body)
        if response.status_code != 201:
            raise self.client._fail(response, f"POST {url}")
        return response.json()

    def changed_files(self, base: str, head: str) -> list[str] | None:
        """The paths the train changed (its release branch against the base it was cut
        from); None when that is not known (every service rides)."""
        if not base or not head:
            return None
        body = self.client._get_ok(self._url(f"/compare/{base}...{head}"), what="compare")
        files = body.get("files") if isinstance(body, dict) else None
        if files is None or len(files) >= 300:  # GitHub lists at most 300: not the whole story
            return None
        return [str(f.get("filename", "")) for f in files]

    def check_run_id(self, sha: str, name: str) -> int:
        """The newest check run called `name` on `sha` (0: none)."""
        url = self._url(f"/commits/{sha}/check-runs")
        runs = self.client._pages(url, {"check_name": name}, "check_runs")
        return max((int(r["id"]) for r in runs if r.get("name") == name), default=0)

    def create_deployment(self, environment: str, sha: str, payload: dict[str, Any]) -> int:
        """A deployment of `sha` to `environment`, or the one that already exists."""
        url = self._url("/deployments")
        for found in self.client._pages(url, {"environment": environment, "sha": sha}):
            if (found.get("payload") or {}).get("train") == payload.get("train"):
                return int(found["id"])
        body = {
            "ref": sha,
            "environment": environment,
            "payload": payload,
            "required_contexts": [],
            "auto_merge": False,
            "description": f"release train {payload.get('train', '')}",
        }
        return int(self._post(url, body)["id"])

    def deployment_status(self, deployment: int, state: str, description: str = "") -> None:
        url = self._url(f"/deployments/{deployment}/statuses")
        # a success makes the environment's earlier deployments (older trains) inactive
        body: dict[str, Any] = {"state": state, "description": description[:140]}
        if state != "success":
            body["auto_inactive"] = False
        self._post(url, body)

    def open_incident(
        self, title: str, body: str, labels: list[str], assignees: list[str], key: str
    ) -> int:
        """Open the incident issue, or adopt the open one carrying `key`; its number."""
        from bot.core.actions import marker

        mark = marker(key)
        url = self._url("/issues")
        for issue in self.client._pages(url, {"state": "all"}):
            if mark in str(issue.get("body") or ""):
                return int(issue["number"])
        payload = {"title": title, "body": f"{body}\n\n{mark}", "labels": labels}
        if assignees:
            payload["assignees"] = assignees
        response = self.client._call("POST", url, retry=False, json=payload)
        if response.status_code != 201:
            raise self.client._fail(response, "open the incident issue")
        return int(response.json()["number"])


class LazyPrometheus:
    """The configured Prometheus, built on the first query (no SLO judged: no client) and
    closed by `promote_round`; a missing secret makes each query an `error` verdict."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = config.prometheus.url
        self._client: Any = None

    def _get(self) -> Any:
        if self._client is None:
            import os

            from bot.adapters.prometheus import client_from_config

            self._client = client_from_config(self.config.prometheus, os.environ)
        return self._client

    def query(self, promql: str, at: datetime) -> Any:
        return self._get().query(promql, at)

    def query_range(self, promql: str, start: datetime, end: datetime, step: Any) -> Any:
        return self._get().query_range(promql, start, end, step)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def prometheus_for(config: Config, given: Any) -> Any:
    """The SLO query client: `given` (a client, or a factory taking the config), else the
    config's `prometheus` (credentials from the environment; built lazily), else None
    (stages with SLOs then judge `error` and hold)."""
    if given is not None:
        return given(config) if callable(given) and not hasattr(given, "query") else given
    return LazyPrometheus(config) if config.prometheus.url else None


# -- releasing holds -----------------------------------------------------------------------


def release_holds(ctx: _Ctx) -> None:
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
        _record(ctx, record, "released", trailers, files=files, actor=who)
        if record.train_pr:
            text = f"@{who} released the hold on {', '.join(f'`{s}`' for s in services)}."
            ctx.client.post_comment(record.train_pr, text, f"released:{comment_id}")


def _ended_record(ctx: _Ctx, train_id: str) -> TrainRecord | None:
    loaded = ctx.snap.ledger.record(train_id)
    if loaded is not None:
        return loaded
    sha = ctx.snap.tip.files.get(record_path(train_id))
    return decode(ctx.client.read_blob(sha)) if sha else None
