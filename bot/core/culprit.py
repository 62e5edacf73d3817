"""Culprit isolation in the lifecycle (pure): a departed train whose CI fails on its PR.

`decide_culprit` reads the CI gate's facts (the train PR head's check runs) and the
candidates' results the shell gathered (`facts["culprit"]`: key -> `CandidateResult`), steps
the bisection (`bot.core.bisect`) and returns the writes as actions: re-run the failing
check, build candidate branches, and once a culprit is known cut the train again without it,
tell it why, move it to the next train (its `missed` entry says `culprit`) and delete the
candidates. Every step is told on the train PR. `on_end` stops a bisection when the train
ends (its deadline, an abort) and deletes its candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core import bisect as bs
from bot.core import culprit_actions as ca
from bot.core.culprit_notes import culprit_notice, train_notice
from bot.core.decide_base import Action, Ctx, abort, required_checks
from bot.core.gates.ci import OWN_PREFIX, CheckRun
from bot.core.ledger import Missed, TrainRecord
from bot.core.world import PullRequest

FAILED = frozenset({"failure", "timed_out", "cancelled", "action_required", "startup_failure"})


@dataclass(frozen=True)
class CandidateResult:
    """CI on one candidate branch, as the shell read it."""

    verdict: str  # "" (not reported yet), "pass" or "fail"
    failing: tuple[tuple[str, str], ...] = ()  # (check name, link)


def watched_names(config: Config) -> tuple[str, ...]:
    """The check names (or patterns) a bisection watches: `culprit.ci`, else the CI gate's
    required checks; empty: every check but the bot's own."""
    return config.culprit.ci or required_checks(config)


def latest_runs(runs: Sequence[CheckRun], names: tuple[str, ...]) -> dict[str, CheckRun]:
    latest: dict[str, CheckRun] = {}
    for run in runs:
        if run.name.startswith(OWN_PREFIX):
            continue
        if names and not any(fnmatchcase(run.name, n) for n in names):
            continue
        if run.name not in latest or run.id > latest[run.name].id:
            latest[run.name] = run
    return latest


def failing_runs(ctx: Ctx, runs: Sequence[CheckRun]) -> tuple[CheckRun, ...]:
    latest = latest_runs(runs, watched_names(ctx.config)).values()
    return tuple(r for r in latest if r.status == "completed" and r.conclusion in FAILED)


def decide_culprit(
    ctx: Ctx, record: TrainRecord, pr: PullRequest, events: list[str]
) -> tuple[TrainRecord, list[Action]]:
    """The bisection's next step for a departed train (nothing when it has none to take)."""
    config = ctx.config.culprit
    facts: Mapping[str, Any] = ctx.gate_facts.get(record.id) or {}
    ci = facts.get("ci")
    if not config.bisect or ci is None or ci.head_sha != pr.head_sha:
        return record, []
    before = bs.load(record.extra)
    failing = failing_runs(ctx, ci.check_runs)
    after = _step(ctx, record, before, pr, ci.check_runs, failing, facts.get("culprit") or {})
    if after is None or after == before:
        return record, []
    events.append("culprit")
    return _effects(ctx, record, before, after, failing)


def _step(
    ctx: Ctx,
    record: TrainRecord,
    state: bs.Bisection | None,
    pr: PullRequest,
    runs: Sequence[CheckRun],
    failing: tuple[CheckRun, ...],
    results: Mapping[int, CandidateResult],
) -> bs.Bisection | None:
    config, now = ctx.config.culprit, ctx.now
    fresh = state is None or (state.phase == bs.FOUND and pr.head_sha != state.head)
    if fresh:
        if not failing:
            return None
        prs = record.boarded_numbers()
        started = bs.start(prs, config, now) if state is None else bs.again(state, prs, config, now)
        checks = tuple(sorted(r.name for r in failing))
        ids = tuple(r.id for r in failing) if started.phase == bs.RERUN else ()
        since = started.round_started or now.isoformat()
        return replace(started, head=pr.head_sha, checks=checks, rerun_ids=ids, round_started=since)
    assert state is not None
    if state.phase == bs.RERUN:
        return _rerun(ctx, state, runs)
    verdicts = {k: r.verdict for k, r in results.items() if r.verdict}
    links = tuple(
        (k, name, url)
        for k, r in results.items()
        if r.verdict == bs.FAIL
        for name, url in r.failing
    )
    after = bs.advance(state, verdicts, config, now)
    if after.tried != state.tried:
        keys = {c.key for c in state.pending}
        after = replace(after, links=(*after.links, *(x for x in links if x[0] in keys)))
    return after


def _rerun(ctx: Ctx, state: bs.Bisection, runs: Sequence[CheckRun]) -> bs.Bisection:
    config, now = ctx.config.culprit, ctx.now
    newest = max(state.rerun_ids, default=0)
    latest = latest_runs(runs, state.checks)
    reran = [latest.get(name) for name in state.checks]
    if any(r is None or r.id <= newest or r.status != "completed" for r in reran):
        started = datetime.fromisoformat(state.round_started)
        if now - started >= config.timeout:
            return replace(state, phase=bs.TIMED_OUT, detail="the re-run check did not report")
        return state
    verdict = bs.FAIL if any(r and r.conclusion in FAILED for r in reran) else bs.PASS
    after = bs.on_rerun(state, verdict, config, now)
    if after.phase == bs.RERUN:  # another re-run
        ids = tuple(r.id for r in reran if r is not None)
        return replace(after, rerun_ids=ids, round_started=now.isoformat())
    return after


def _effects(
    ctx: Ctx,
    record: TrainRecord,
    before: bs.Bisection | None,
    after: bs.Bisection,
    failing: tuple[CheckRun, ...],
) -> tuple[TrainRecord, list[Action]]:
    actions: list[Action] = []
    rid = record.id
    if after.phase == bs.RERUN and (before is None or before.rerun_ids != after.rerun_ids):
        actions += [ca.RerunCheck(rid, r.name, r.id) for r in failing if r.id in after.rerun_ids]
    if after.pending and (before is None or before.pending != after.pending):
        actions += [_candidate(record, c) for c in after.pending]
    record = replace(record, extra=bs.store(record.extra, after))
    if after.phase == bs.FOUND:
        record, found = _leave(ctx, record, after)
        actions += found
    elif after.ended:
        actions += cleanup(record, after)
    if record.train_pr:
        key = f"culprit:{rid}:{len(after.tried)}:{after.phase}:{len(after.culprits)}:{after.reruns}"
        body = train_notice(record, after, candidate_branch)
        actions.insert(0, act.PostComment(rid, record.train_pr, body, key))
    return record, actions


def _leave(ctx: Ctx, record: TrainRecord, state: bs.Bisection) -> tuple[TrainRecord, list[Action]]:
    """Cut the train again without the culprits, tell each, and delete the candidates."""
    leaving = [n for n in bs.leaving(state) if n in record.boarded_numbers()]
    staying = tuple(b for b in record.boarded if b.number not in leaving)
    order = record.boarded_numbers()  # before the culprits leave
    actions: list[Action] = []
    missed = list(record.missed)
    partners = bs.partners(state)
    for number in leaving:
        pr = ctx.world.pull(number)
        partner, label = partners.get(number), ctx.train.label
        detail, body = culprit_notice(record, state, number, partner, pr, label, candidate_branch)
        missed.append(Missed(number, "culprit", detail))
        actions.append(act.PostComment(record.id, number, body, f"culprit:{record.id}:{number}"))
    record = replace(
        record,
        boarded=staying,
        missed=tuple(missed),
        missed_notified=(*record.missed_notified, *leaving),
    )
    if not staying:
        return abort(record, "every pull request on the train broke CI", ctx.now), actions
    recut = _recut(record, order, tuple(leaving))
    return record, [recut, *actions, *cleanup(record, state)]


MERGES = "merges"  # the record's `extra` key: PR -> the release branch's commit after its merge


def _candidate(record: TrainRecord, candidate: bs.Candidate) -> ca.BuildCandidate:
    """A candidate that is a prefix of the train is a commit the release branch already has
    (one write: a ref); any other is built from the base with merges."""
    heads = {b.number: b.head_sha for b in record.boarded}
    pairs = tuple((n, heads.get(n, "")) for n in candidate.prs)
    merges = record.extra.get(MERGES) or {}
    prefix = record.boarded_numbers()[: len(candidate.prs)] == candidate.prs
    at = str(merges.get(str(candidate.prs[-1]), "")) if prefix and candidate.prs else ""
    branch = candidate_branch(record, candidate.key)
    return ca.BuildCandidate(record.id, branch, record.base_sha, pairs, at)


def _recut(
    record: TrainRecord, order: tuple[int, ...], leaving: tuple[int, ...]
) -> ca.RecutRelease:
    """The PRs before the first culprit (in train `order`) keep their commits; the rest
    are merged again onto the last of them (or the base)."""
    merges = record.extra.get(MERGES) or {}
    first = min(order.index(n) for n in leaving)
    kept: list[tuple[int, str]] = []
    for number in order[:first]:
        if str(number) not in merges:
            break
        kept.append((number, str(merges[str(number)])))
    done = {n for n, _ in kept}
    rest = tuple((b.number, b.head_sha) for b in record.boarded if b.number not in done)
    return ca.RecutRelease(
        record.id, record.release_branch, record.base_sha, rest, leaving, tuple(kept)
    )


def candidate_branch(record: TrainRecord, key: int) -> str:
    """`<release branch>-try-<k>`: not `release/<id>/try-<k>`, which git refuses beside the
    branch `release/<id>` (a ref cannot be both a file and a directory)."""
    return f"{record.release_branch}-try-{key}"


def cleanup(record: TrainRecord, state: bs.Bisection) -> list[Action]:
    """Delete every candidate branch the bisection built."""
    keys = sorted({c.key for c in (*state.tried, *state.pending)})
    return [ca.DeleteBranch(record.id, candidate_branch(record, k)) for k in keys]


def on_end(record: TrainRecord, why: str) -> tuple[TrainRecord, list[Action]]:
    """The train ended (its deadline, an abort) mid-bisection: stop it, delete candidates."""
    state = bs.load(record.extra)
    if state is None or state.ended:
        return record, []
    stopped = bs.stop(state, why)
    record = replace(record, extra=bs.store(record.extra, stopped))
    return record, cleanup(record, state)


def wake_at(config: Config, record: TrainRecord) -> datetime | None:
    """When a bisection waiting on CI times out (`next_due` looks again then)."""
    state = bs.load(record.extra)
    if state is None or state.ended or not state.round_started:
        return None
    if state.phase != bs.RERUN and not state.pending:
        return None
    return datetime.fromisoformat(state.round_started) + config.culprit.timeout
