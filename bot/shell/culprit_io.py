"""Culprit isolation's I/O: what CI said on the candidate branches (read before `decide`),
and the writes of `bot.core.culprit_actions` (performed by `bot.shell.dispatch`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.config.model import Config
from bot.core import bisect as bs
from bot.core import culprit_actions as ca
from bot.core.culprit import FAILED, CandidateResult, candidate_branch, latest_runs, watched_names
from bot.core.gates.from_github import check_runs_from_api
from bot.core.ledger import TrainRecord


def gather_candidates(config: Config, client: Any, record: TrainRecord) -> dict[int, Any]:
    """The verdict of CI on each candidate of the current round: one branch-heads read, and
    one check-runs read per candidate."""
    state = bs.load(record.extra)
    if state is None or state.ended or not state.pending:
        return {}
    branches = {c.key: candidate_branch(record, c.key) for c in state.pending}
    heads = client.branch_heads(set(branches.values()))
    names = watched_names(config)
    results: dict[int, Any] = {}
    for key, branch in sorted(branches.items()):
        sha = heads.get(branch)
        if not sha:
            results[key] = CandidateResult("")
            continue
        raw = client.get_pages(f"/commits/{sha}/check-runs", {}, "check_runs")
        results[key] = judge(latest_runs(check_runs_from_api(raw), names).values())
    return results


def judge(runs: Any) -> CandidateResult:
    runs = list(runs)
    if not runs or any(r.status != "completed" for r in runs):
        return CandidateResult("")
    failing = tuple((r.name, r.url) for r in runs if r.conclusion in FAILED)
    return CandidateResult(bs.FAIL if failing else bs.PASS, failing)


def perform_culprit(client: Any, action: Any) -> Any:
    if isinstance(action, ca.RerunCheck):
        return _rerun(client, action.run_id)
    if isinstance(action, ca.BuildCandidate) and action.at:
        return client.create_branch(action.branch, action.at)
    if isinstance(action, ca.BuildCandidate):
        return _build(client, action.train_id, action.branch, action.base_sha, action.heads, "Try")[
            0
        ]
    if isinstance(action, ca.RecutRelease):
        scratch = f"{action.branch}-recut"
        start = action.kept[-1][1] if action.kept else action.base_sha
        sha, merges = _build(client, action.train_id, scratch, start, action.heads, "Board")
        merges = {**{str(n): c for n, c in action.kept}, **merges}
        _move(client, action.branch, sha)
        _delete(client, scratch)
        return sha, merges
    if isinstance(action, ca.DeleteBranch):
        return _delete(client, action.branch)
    raise TypeError(f"not a culprit action: {action!r}")


def _build(
    client: Any,
    train_id: str,
    branch: str,
    base: str,
    heads: tuple[tuple[int, str], ...],
    verb: str,
) -> tuple[str, dict[str, str]]:
    """The branch at `base` plus each head merged in order, like the release branch; an
    existing branch is adopted (a merge already in it answers 204). A conflict leaves that
    PR out: CI judges what could be built."""
    sha = client.create_branch(branch, base)
    merges: dict[str, str] = {}
    for number, head in heads:
        message = f"{verb} #{number} on {train_id}\n\nTrain-Id: {train_id}\n"
        merged = client.merge_into(branch, head, message)
        sha = merged or sha
        if merged:
            merges[str(number)] = merged
    return str(client.branch_heads({branch}).get(branch, sha)), merges


def _ref(client: Any, branch: str) -> str:
    return str(client._repo_url(f"/git/refs/heads/{quote(branch, safe='/')}"))


def _move(client: Any, branch: str, sha: str) -> None:
    response = client._call("PATCH", _ref(client, branch), json={"sha": sha, "force": True})
    if response.status_code != 200:
        raise client._fail(response, f"move {branch} to {sha[:12]}")


def _delete(client: Any, branch: str) -> bool:
    response = client._call("DELETE", _ref(client, branch))
    if response.status_code in (204, 404, 422):  # gone already: nothing to do
        return response.status_code == 204
    raise client._fail(response, f"delete branch {branch}")


def _rerun(client: Any, run_id: int) -> bool:
    """Re-request a check run; a run made by GitHub Actions is a job, re-run through the
    Actions API instead. False when neither would (the round then times out, told)."""
    response = client._call("POST", client._repo_url(f"/check-runs/{run_id}/rerequest"))
    if response.status_code in (200, 201):
        return True
    response = client._call("POST", client._repo_url(f"/actions/jobs/{run_id}/rerun"))
    return int(response.status_code) in (200, 201)


def merged_at(record: TrainRecord, action: Any, outcome: Any) -> TrainRecord:
    """Keep, per PR, the release branch's commit after its merge (`extra["merges"]`): a
    candidate that is a prefix of the train is then a ref to that commit, not N merges. A
    re-cut replaces the map (and moves `release_sha`)."""
    from dataclasses import replace

    from bot.core.culprit import MERGES

    if isinstance(action, ca.RecutRelease):
        if not outcome:
            return record
        sha, merges = outcome
        return replace(record, release_sha=str(sha), extra={**record.extra, MERGES: merges})
    if not outcome:  # a conflict (None) or already merged (""): nothing known
        return record
    merges = {**(record.extra.get(MERGES) or {}), str(action.pr): str(outcome)}
    return replace(record, extra={**record.extra, MERGES: merges})
