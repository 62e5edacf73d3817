"""What promotion and revert share: the pass's context, one-commit writes with rebuild on
a moved ref, the ledger record of each step, and the train PR's stage table and check run."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.adapters.gitdata import GitData, Tip
from bot.adapters.github import LedgerMoved
from bot.config.model import Config
from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import promotion_table
from bot.core.ledger import (
    INDEX_PATH,
    TrainRecord,
    commit_message,
    decode_index,
    encode,
    encode_index,
    index_entry,
    record_path,
    transition_trailers,
)
from bot.core.promotion_check import CHECK_RUN, CHECK_RUN_ID, check_run_body
from bot.errors import ExternalError
from bot.shell import ledger_trust

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


def branch_for(ctx: StageCtx, record: TrainRecord, step: pm.StepPlan) -> str:
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    return stage.branch or ctx.config.train(record.train).base


def git_for(ctx: StageCtx, step: pm.StepPlan) -> GitData:
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


def via_pull(ctx: StageCtx, record: TrainRecord, step: pm.StepPlan, what: str) -> str:
    """The bot's head branch when the stage takes changes through pull requests ("" when
    it takes direct commits)."""
    stage = next(s for s in ctx.config.stages if s.name == step.stage)
    return f"release-train/{what}/{record.id}/{step.name}" if stage.mode == "pull_request" else ""


# -- writing -------------------------------------------------------------------------------


def write_edits(
    ctx: StageCtx,
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


def record_step(
    ctx: StageCtx,
    record: TrainRecord,
    event: str,
    trailers: list[tuple[str, str]],
    *,
    files: dict[str, str] | None = None,
    actor: str = "",
    also: tuple[str, ...] = (),
) -> None:
    """One ledger commit (compare-and-swap) named `event` (`also`: further events it
    records, as `Event` trailers), then the stage table on the train PR.

    A lost swap to a write that touched neither this train's file nor the other files
    written here (another train moved) is retried on the new tip: a base-branch commit
    already made is then never left out of the ledger. Otherwise `LedgerMoved` propagates
    and the caller reads again."""
    published = not _check_run_known(ctx, record) and bool(record.merge_sha)
    if published:  # the train's first: made before the write, so the write keeps its id
        update_check_run(ctx, record)
    known = ctx.check_runs.get(record.id)
    if known and record.extra.get(CHECK_RUN_ID) != known:  # later rounds need not look it up
        record = replace(record, extra={**record.extra, CHECK_RUN_ID: known})
    base = transition_trailers((event, *also), record, actor=actor)
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
            fresh, _ = ledger_trust.read_tip(ctx.client, ctx.config.ledger_branch)
            if attempt == RETRIES - 1 or any(
                fresh.files.get(p) != ctx.snap.tip.files.get(p) for p in own
            ):
                raise
            index_sha = fresh.files.get(INDEX_PATH)
            ctx.snap.index = decode_index(ctx.client.read_blob(index_sha)) if index_sha else {}
            ctx.snap.tip = fresh
    ctx.snap.tip = tip
    ctx.run.done += [f"record {e} for {record.id}" for e in (event, *also)]
    update_table(ctx, record)
    if not published:
        update_check_run(ctx, record)


def _check_run_known(ctx: StageCtx, record: TrainRecord) -> bool:
    """Whether the train's promotion check run id is known (this pass, or the ledger).
    When it is not, the check run is published before the ledger write that follows, so a
    refused POST stops the round and the next one tries again: the run cannot go missing
    with no later write to make it (reliability bug J)."""
    return bool(ctx.check_runs.get(record.id) or record.extra.get(CHECK_RUN_ID))


def update_table(ctx: StageCtx, record: TrainRecord) -> None:
    """The train PR's stage table, written only when it differs."""
    pr = ctx.snap.world.pull(record.train_pr) if record.train_pr else None
    if pr is None:
        return
    plan = pm.plan_steps(ctx.config)
    held = sorted(read_holds(ctx.client, ctx.snap.tip).services())
    table = promotion_table.stage_table(plan, pm.load(record), held)
    body = promotion_table.with_table(pr.body, table)
    if body != pr.body:
        ctx.client.update_pull(pr.number, body=body)
        ctx.snap.world.pulls[pr.number] = replace(pr, body=body)
        ctx.run.done.append(f"update the stage table on #{pr.number}")


def update_check_run(ctx: StageCtx, record: TrainRecord) -> None:
    if not record.merge_sha:
        return
    held = sorted(read_holds(ctx.client, ctx.snap.tip).services())
    table = promotion_table.stage_table(pm.plan_steps(ctx.config), pm.load(record), held)
    body = check_run_body(record, table)
    update = {k: v for k, v in body.items() if k != "head_sha"}
    run_id = ctx.check_runs.get(record.id) or int(record.extra.get(CHECK_RUN_ID) or 0)
    if run_id:  # remembered: no lookup (a run deleted since: look it up)
        try:
            ctx.client.publish_check_run(update, run_id)
            return
        except ExternalError as exc:
            if exc.status not in (404, 410):
                raise
    run_id = ctx.git.check_run_id(record.merge_sha, CHECK_RUN)
    if not run_id:
        ctx.check_runs[record.id] = ctx.client.publish_check_run(body)
    else:
        ctx.check_runs[record.id] = ctx.client.publish_check_run(update, run_id)


def read_holds(client: Any, tip: Any) -> holds_mod.Holds:
    sha = tip.files.get(holds_mod.HOLDS_PATH) if tip is not None else None
    return holds_mod.decode(client.read_blob(sha) if sha else None)
