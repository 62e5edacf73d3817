"""Promotion's registry reads (for `bot.shell.promote`): the train's artifact set looked up
and decided before any bump (`bot.core.promotion_artifacts.settle`), and the cheap
re-check of each shipping tag before each later stage.

Requests: one resolve per service per train (a settled service is never asked again; a
waiting one once per pass until it settles), one `HEAD` per shipping service per later
stage, and one read of a commit's tree when an image names another commit than the one
that lands (`same_tree`). The registry client lives for one promotion pass (closed with
the pass's other clients) under the operator's outbound policy: the one the transport
handed to reconcile, else the environment's (operator mode), as for Prometheus.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from bot.adapters.registry import Missing, RegistryClient
from bot.config.imageref import ImageRef, parse_image
from bot.core import promotion as pm
from bot.core import promotion_artifacts as pa
from bot.core.actions import UpdatePullRequest
from bot.core.artifacts import ArtifactSet, Observation, decide, of_record, wanted
from bot.core.ledger import TrainRecord
from bot.errors import ConfigError, ExternalError, Problem
from bot.shell.stage_io import StageCtx

REGISTRY = "registry:"  # the pass's registry client, kept (and closed) with `ctx.others`


def recorded_set(record: TrainRecord) -> ArtifactSet | None:
    """The train's recorded set; a record this bot cannot read is a ConfigError naming
    it (promotion of that train waits, the others go on)."""
    try:
        return of_record(record)
    except ValueError as exc:
        raise ConfigError([Problem(f"its artifact set: {exc}", f"ledger {record.id}")]) from None


def registry(ctx: StageCtx) -> RegistryClient:
    """The pass's registry client (made on first use)."""
    if REGISTRY not in ctx.others:
        policy = getattr(ctx, "outbound", None)
        if policy is None:
            from bot.config.operator import outbound_from_env

            policy = outbound_from_env(os.environ)
        ctx.others[REGISTRY] = RegistryClient(policy, platform=ctx.config.artifacts.platform)
    client: RegistryClient = ctx.others[REGISTRY]
    return client


def observe(client: RegistryClient, ref: ImageRef) -> Observation:
    """What the registry says about `ref`, as the core's input (its failure included)."""
    try:
        found = client.resolve(ref)
    except ExternalError as exc:
        return Observation(error=exc.message)
    if isinstance(found, Missing):
        return Observation(missing=found.reason)
    return Observation(found.digest, found.revision)


def settle_train(ctx: StageCtx, record: TrainRecord) -> pa.Settling | None:
    """The train's set this round and the actions that show and record it; None when the
    config has no `artifacts:` block (tags render from the merge commit, as before)."""
    config = ctx.config
    if not pa.enabled(config) or not record.merge_sha:
        return None
    recorded = recorded_set(record)
    if recorded is not None and recorded.settled:
        return pa.Settling(recorded, record, ())
    train = config.train(record.train)
    changed = ctx.git.changed_files(record.base_sha, record.release_sha or record.merge_sha)
    day = record.state_since or ctx.now
    refs = wanted(config, train, changed, record.merge_sha, record.id, day)
    owed = set(pa.carried_over(earlier(ctx, record), record)) - {s.name for s, _ in refs}
    if owed:  # left out of an earlier train: this one carries their change
        everyone = wanted(config, train, None, record.merge_sha, record.id, day)
        refs = tuple(r for r in everyone if r[0].name in owed or r in refs)
    look = pa.to_look_up(recorded, refs)
    client = registry(ctx)
    client.expect(ref for _, ref in look)
    seen = {service.name: observe(client, ref) for service, ref in look}
    for name, obs in seen.items():
        if obs.error:
            ctx.run.problems.append(f"registry: {record.id}: {name}: {obs.error}")  # exit 4
    fresh = decide(config, refs, seen, revision=record.merge_sha, now=ctx.now,
                   waiting_since=pa.waiting_since(record, ctx.now),
                   same_tree=same_tree(ctx, record.merge_sha, seen.values()))  # fmt: skip
    pr = ctx.snap.world.pull(record.train_pr) if record.train_pr else None
    body = pr.body if pr is not None else ""
    settling = pa.settle(config, record, fresh, check_run=0, pr_body=body, now=ctx.now)
    if settling.actions and record.merge_sha:
        run_id = ctx.git.check_run_id(record.merge_sha, pa.CHECK)
        if run_id:
            settling = pa.settle(config, record, fresh, check_run=run_id, pr_body=body,
                                 now=ctx.now)  # fmt: skip
    return settling


SHIPPED_STATES = ("merged", "promoting", "completed", "rolled_back", "aborted")
LOOK_BACK = 3  # earlier trains read at most, to find the last one that merged


def _order(train_id: str) -> tuple[str, int]:
    day, _, n = train_id.rpartition(".")
    return (day, int(n)) if day and n.isdigit() else (train_id, 0)


def earlier(ctx: StageCtx, record: TrainRecord) -> list[TrainRecord]:
    """The last earlier train of the same line that merged (what it left out, this one
    carries): read from the ledger (ended trains are not in the round's records)."""
    from bot.core.ledger import decode, record_path

    ids = sorted(
        (tid for tid, e in ctx.snap.index.items()
         if e.get("train") == record.train and e.get("state") in SHIPPED_STATES
         and _order(tid) < _order(record.id)),
        key=_order, reverse=True,
    )[:LOOK_BACK]  # fmt: skip
    for tid in ids:
        sha = ctx.snap.tip.files.get(record_path(tid))
        found = ctx.snap.ledger.record(tid) or (decode(ctx.client.read_blob(sha)) if sha else None)
        if found is not None and found.merge_sha:
            return [found]
    return []


def seen_as_written(ctx: StageCtx, actions: Any) -> None:
    """The pass's view of the train PR after its Services list was rewritten (the stage
    table is written over that body, not the one read before)."""
    for action in actions:
        pr = ctx.snap.world.pull(action.number) if isinstance(action, UpdatePullRequest) else None
        if pr is not None:
            ctx.snap.world.pulls[pr.number] = replace(pr, body=action.body)


def same_tree(ctx: StageCtx, revision: str, seen: Any) -> list[str]:
    """The commits images name (other than `revision`) whose tree is `revision`'s: built
    from the same files (e.g. the train PR head, when main had not moved)."""
    others = {o.revision for o in seen if o.digest and o.revision and o.revision != revision}
    if not others:
        return []
    tree = _tree(ctx, revision)
    return [sha for sha in sorted(others) if tree and _tree(ctx, sha) == tree]


def _tree(ctx: StageCtx, sha: str) -> str:
    status, body, _ = ctx.client._get(f"/repos/{ctx.client.repo}/git/commits/{sha}")
    if status != 200 or not isinstance(body, dict):
        return ""  # an unknown commit (not in this repository) has no tree to compare
    tree = body.get("tree")
    return str(tree.get("sha", "")) if isinstance(tree, dict) else ""


def recheck(ctx: StageCtx, record: TrainRecord, step: pm.StepPlan, what: Any) -> Any:
    """Before a later stage: one `HEAD` per shipping tag; a tag that moved stops the
    promotion with both digests (`what.problems`: the stage fails, nothing is written)."""
    artifacts = recorded_set(record) if pa.enabled(ctx.config) else None
    first = pm.plan_steps(ctx.config)[0].name
    if artifacts is None or step.name == first or what.problems:
        return what
    heads = _heads(ctx, artifacts)
    problems = pa.restamp_problems(artifacts, heads)
    if not problems:
        return what
    return replace(what, problems=problems, edit=None)


def _heads(ctx: StageCtx, artifacts: ArtifactSet) -> dict[str, str]:
    """Service -> the digest its tag points to now (a tag gone: "", which stops too)."""
    client = registry(ctx)
    out = {}
    for a in artifacts.artifacts:
        if a.ships and a.digest:
            found = client.head(parse_image(f"{a.repository}:{a.tag}"))
            out[a.service] = "" if isinstance(found, Missing) else found
    return out
