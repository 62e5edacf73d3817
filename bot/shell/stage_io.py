"""Promotion's writes, performed (for the one dispatcher, `bot.shell.dispatch`): the pass's
context, one-commit writes with rebuild on a moved ref, the deployment, and the train PR's
stage table and check run, each as the train's record stands after the writes before it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.adapters.gitdata import GitData, Tip
from bot.config.model import Config
from bot.core import actions as act
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import promotion_actions as pa
from bot.core import promotion_refusals as refusals
from bot.core import promotion_table
from bot.core.ledger import TrainRecord
from bot.core.promotion_check import CHECK_RUN, CHECK_RUN_ID, check_run_body
from bot.core.promotion_health import with_health
from bot.errors import ExternalError

RETRIES = 5


@dataclass
class PromoteRun:
    """What one promotion pass did, and when time alone changes a decision."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    due: datetime | None = None
    moves: list[Any] = field(default_factory=list)  # bot.core.actions.Promote, as decided
    performed: list[Any] = field(default_factory=list)  # the moves carried out

    def wake(self, at: datetime | None) -> None:
        if at is not None and (self.due is None or at < self.due):
            self.due = at


@dataclass
class StageCtx:
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
    check_runs: dict[str, int] = field(default_factory=dict)  # train id -> its check run
    written: dict[str, TrainRecord] = field(default_factory=dict)  # train id -> as recorded
    outbound: Any = (
        None  # the operator's OutboundPolicy (registry, Argo CD; None: from the environment)
    )


def branch_for(ctx: StageCtx, record: TrainRecord, step: pm.StepPlan) -> str:
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    return stage.branch or ctx.config.train(record.train).base


def git_for(ctx: StageCtx, step: pm.StepPlan) -> GitData:
    """The repository a step writes to: this one, or the stage's separate GitOps
    repository (same installation token, API and cache)."""
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    return git_of(ctx, stage.repository)


def git_of(ctx: StageCtx, repo: str) -> GitData:
    """This repository ("" or its own name), or another one with the same credentials."""
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


# -- writing -------------------------------------------------------------------------------


def write_edits(
    ctx: StageCtx,
    git: GitData,
    branch: str,
    owners_of: Callable[[Tip], dict[str, tuple[str, ...]]],
    tags: dict[str, str],
    message_of: Callable[[tuple[pm.BumpLine, ...]], str],
    via_pull: str = "",
    first: tuple[Tip, pm.StepEdit] | None = None,
) -> tuple[str, tuple[pm.BumpLine, ...]]:
    """Apply `tags` on the head of `branch` in ONE commit (`first`: the edit already made on
    the head read this round); on a moved ref, read the new tip and apply the pure edits
    again (bounded, jittered retries). Files already at the tags: no commit, and the head's
    sha. Raises ConfigError on bad input (nothing written)."""
    for attempt in range(RETRIES):
        if attempt == 0 and first is not None:
            tip, edit = first
        else:
            tip = git.tip(branch)
            owners = owners_of(tip)
            texts = git.read(tip, sorted(owners))
            edit = pm.edit_step(ctx.config, texts, owners, tags)
        if not edit.files:
            return tip.commit, edit.bumps  # `tag -> tag`: promote._adopt finds the bump
        message = message_of(edit.bumps)
        if via_pull:
            sha = git.commit_via_pull(branch, tip, edit.files, message, via_pull)
        else:
            sha = git.commit(branch, tip, edit.files, message)
        if sha is not None:
            return sha, edit.bumps
        ctx.sleep(ctx.rng.uniform(0, 0.05 * 2**attempt))
    raise ExternalError("GitHub", f"{branch} kept moving; promotion goes on next time")


@dataclass(frozen=True)
class Link:
    """One commit of a chain: put `files` back to `tags` (service -> tag)."""

    files: tuple[str, ...]
    tags: dict[str, str]
    message: str


def write_chain(
    ctx: StageCtx, git: GitData, branch: str, links: list[Link]
) -> tuple[list[str], bool]:
    """One commit per link, each on the one before (its tree: the tip's tree with every
    file changed so far), then ONE ref update without force: the tip is read once and
    the ref moves once however many links. On a moved ref the chain is built again on
    the new tip (bounded, jittered retries). Per link, its commit's sha (a link with
    nothing left to change: the chain's head at that point), and whether the ref moved
    (False: every file was already as asked)."""
    for attempt in range(RETRIES):
        tip = git.tip(branch)
        texts = git.read(tip, sorted({f for link in links for f in link.files if f in tip.files}))
        changed: dict[str, str] = {}
        head, shas = tip.commit, []
        for link in links:
            owners = {f: tuple(link.tags) for f in link.files if f in tip.files}
            edit = pm.edit_step(ctx.config, {**texts, **changed}, owners, link.tags)
            if edit.files:
                changed.update(edit.files)
                head = git._commit_object(Tip(head, tip.tree, {}), changed, link.message)
            shas.append(head)
        if head == tip.commit:
            return shas, False
        if _move_ref(git, branch, head):
            return shas, True
        ctx.sleep(ctx.rng.uniform(0, 0.05 * 2**attempt))
    raise ExternalError("GitHub", f"{branch} kept moving; the revert goes on next time")


def _move_ref(git: GitData, branch: str, sha: str) -> bool:
    """Fast-forward `branch` to `sha`; False when it moved meanwhile (422)."""
    url = f"/repos/{git.client.repo}/git/refs/heads/{quote(branch)}"
    response = git.client._call("PATCH", url, json={"sha": sha, "force": False})
    if response.status_code == 422:
        return False
    if response.status_code != 200:
        raise git.client._fail(response, f"move {branch}")
    return True


def update_table(ctx: StageCtx, record: TrainRecord) -> None:
    """The train PR's stage table, written only when it differs."""
    pr = ctx.snap.world.pull(record.train_pr) if record.train_pr else None
    if pr is None:
        return
    plan = pm.plan_steps(ctx.config)
    held = sorted(read_holds(ctx.client, ctx.snap.tip).services())
    table = promotion_table.stage_table(plan, pm.load(record), held, refusals.line(record))
    table = with_health(ctx.config, record, table)  # Argo CD's verdicts, when any
    body = promotion_table.with_table(pr.body, table)
    if body != pr.body:
        ctx.client.update_pull(pr.number, body=body)
        ctx.snap.world.pulls[pr.number] = replace(pr, body=body)
        ctx.run.done.append(f"update the stage table on #{pr.number}")


def update_check_run(ctx: StageCtx, record: TrainRecord) -> int:
    """Create or update the train's promotion check run as `record` stands; its id."""
    if not record.merge_sha:
        return 0
    held = sorted(read_holds(ctx.client, ctx.snap.tip).services())
    plan = pm.plan_steps(ctx.config)
    table = promotion_table.stage_table(plan, pm.load(record), held, refusals.line(record))
    body = check_run_body(record, with_health(ctx.config, record, table))
    update = {k: v for k, v in body.items() if k != "head_sha"}
    run_id = ctx.check_runs.get(record.id) or int(record.extra.get(CHECK_RUN_ID) or 0)
    if run_id:  # remembered: no lookup (a run deleted since: look it up)
        try:
            ctx.client.publish_check_run(update, run_id)
            ctx.check_runs[record.id] = run_id
            return run_id
        except ExternalError as exc:
            if exc.status not in (404, 410):
                raise
    run_id = ctx.git.check_run_id(record.merge_sha, CHECK_RUN)
    if not run_id:
        ctx.check_runs[record.id] = ctx.client.publish_check_run(body)
    else:
        ctx.check_runs[record.id] = ctx.client.publish_check_run(update, run_id)
    return ctx.check_runs[record.id]


def read_holds(client: Any, tip: Any) -> holds_mod.Holds:
    sha = tip.files.get(holds_mod.HOLDS_PATH) if tip is not None else None
    return holds_mod.decode(client.read_blob(sha) if sha else None)


# -- performing a promotion step (`bot.core.promotion_actions`) -----------------------------


def perform_step(ctx: StageCtx, action: act.Action, record: TrainRecord, moved: bool) -> Any:
    """One promotion side effect, as `record` (the train's, folded so far) stands; its
    outcome (`bot.shell.dispatch._fold`). `moved`: a revert chain moved a ref this group."""
    from bot.shell import rollback

    if isinstance(action, pa.BumpStage):
        return bump(ctx, action, record)
    if isinstance(action, pa.StartDeployment):
        return start_deployment(ctx, action, record)
    if isinstance(action, pa.RevertChain):
        return rollback.revert_chain(ctx, action)
    if isinstance(action, pa.OpenIncident):
        return rollback.open_incident(ctx, action, record, look=not moved)
    if isinstance(action, pa.AnnounceRollback):
        return rollback.announce(ctx, action, record)
    if isinstance(action, pa.PublishPromotionCheck):
        return update_check_run(ctx, record)
    if isinstance(action, pa.UpdateStageTable):
        return update_table(ctx, record)
    if isinstance(action, act.SetDeploymentStatus):
        git = git_of(ctx, action.repository)
        return git.deployment_status(action.deployment, action.state, action.description)
    raise TypeError(f"not a promotion step: {action!r}")


def step_plan(ctx: StageCtx, name: str) -> pm.StepPlan:
    return next(s for s in pm.plan_steps(ctx.config) if s.name == name)


def bump(ctx: StageCtx, action: pa.BumpStage, record: TrainRecord) -> Any:
    """The step's one commit (adopting this train's own bump after a crash): (sha, bumps)."""
    step = step_plan(ctx, action.step)
    git = git_of(ctx, action.repository)
    tags = dict(action.tags)
    first = None
    if action.base is not None:
        first = (action.base, pm.StepEdit(dict(action.files), tuple(action.bumps)))
    sha, bumps = write_edits(
        ctx,
        git,
        action.branch,
        lambda tip: pm.step_files(ctx.config, step, tip.files, tags),
        tags,
        lambda lines: pm.promote_message(record.id, step, lines),
        action.head,
        first,
    )
    if any(b.old == b.new for b in bumps):  # the files were at the tags already
        sha, bumps = _adopt(git, action.branch, record, step, sha, bumps)
    return sha, bumps


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


def start_deployment(ctx: StageCtx, action: pa.StartDeployment, record: TrainRecord) -> int:
    """The deployment of the commit the step's bump made (the folded record's), in progress."""
    state = next(s for s in pm.load(record).steps if s.name == action.step)
    git = git_of(ctx, action.repository)
    payload = {"train": record.id, "stage": action.stage, "tags": dict(action.tags)}
    deployment, made = git.deployment(action.step, state.commit, payload)
    soaking = f"{record.id} soaking in {action.step}"
    git.deployment_status(deployment, "in_progress", soaking, look=not made)
    return deployment
