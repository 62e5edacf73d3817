"""Commit statuses, code-scanning alerts and issue search over HTTP through githubkit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed
from hypothesis import given
from hypothesis import strategies as st

from bot.sandbox.api.code_scanning import mark_analyzed, seed_alerts
from bot.sandbox.api.search import parse_query
from bot.sandbox.api.statuses import combined_state
from bot.sandbox.runner import Sandbox

REPO = ("acme", "shop")


@pytest.fixture
def bot(sandbox: Sandbox) -> Iterator[GitHub[Any]]:
    sandbox.scenario.demo()
    with GitHub(sandbox.bot_token(), base_url=sandbox.base_url, auto_retry=False) as gh:
        yield gh


def test_combined_state_rules() -> None:
    assert combined_state([]) == "pending"
    assert combined_state(["success", "pending"]) == "pending"
    assert combined_state(["success", "error", "pending"]) == "failure"
    assert combined_state(["success", "success"]) == "success"


def test_statuses_and_combined_status(bot: GitHub[Any], sandbox: Sandbox) -> None:
    sha = sandbox.git.resolve("acme/shop", "main")
    assert sha is not None
    assert bot.rest.repos.get_combined_status_for_ref(*REPO, "main").json()["state"] == "pending"
    bot.rest.repos.create_commit_status(*REPO, sha, state="failure", context="ci/test")
    bot.rest.repos.create_commit_status(*REPO, sha, state="success", context="ci/test")
    made: Any = bot.rest.repos.create_commit_status(
        *REPO, sha, state="success", context="ci/lint", target_url="https://ci/2"
    ).json()
    assert made["creator"]["login"] == "release-train[bot]" and made["target_url"] == "https://ci/2"
    combined = bot.rest.repos.get_combined_status_for_ref(*REPO, "main").json()
    assert combined["state"] == "success" and combined["total_count"] == 2
    assert combined["sha"] == sha
    listed = bot.rest.repos.list_commit_statuses_for_ref(*REPO, sha).json()
    assert [s["state"] for s in listed] == ["success", "success", "failure"]
    with pytest.raises(RequestFailed) as failed:
        bot.request("POST", f"/repos/acme/shop/statuses/{sha}", json={"state": "great"})
    assert failed.value.response.status_code == 422


def test_code_scanning_without_analysis_is_404(bot: GitHub[Any]) -> None:
    with pytest.raises(RequestFailed) as failed:
        bot.rest.code_scanning.list_alerts_for_repo(*REPO)
    assert failed.value.response.status_code == 404
    assert failed.value.response.json()["message"] == "no analysis found"


def test_code_scanning_filters(bot: GitHub[Any], sandbox: Sandbox) -> None:
    seed_alerts(sandbox.scenario, "acme/shop", [
        {"rule_id": "py/sql-injection", "security_severity": "critical"},
        {"rule_id": "py/weak-hash", "security_severity": "medium"},
        {"rule_id": "py/old", "security_severity": "high", "state": "fixed"},
        {"rule_id": "py/branch-only", "ref": "refs/heads/release"},
    ])  # fmt: skip

    def rules(**query: Any) -> list[str]:
        alerts = bot.rest.code_scanning.list_alerts_for_repo(*REPO, **query).json()
        return sorted(str(a["rule"]["id"]) for a in alerts)

    assert rules() == ["py/old", "py/sql-injection", "py/weak-hash"]
    assert rules(state="open") == ["py/sql-injection", "py/weak-hash"]
    assert rules(severity="critical") == ["py/sql-injection"]
    assert rules(ref="release") == ["py/branch-only"]
    assert rules(ref="refs/heads/release") == ["py/branch-only"]
    with pytest.raises(RequestFailed):
        bot.rest.code_scanning.list_alerts_for_repo(*REPO, ref="refs/heads/other")
    mark_analyzed(sandbox.store, "acme/shop", "refs/heads/other")
    assert rules(ref="refs/heads/other") == []


def test_search_parses_the_common_qualifiers() -> None:
    q = parse_query('repo:acme/shop is:pr is:open label:"release: next" -label:hold fix')
    assert q.include == {"repo": ("acme/shop",), "is": ("pr", "open"),
                         "label": ("release: next",)}  # fmt: skip
    assert q.exclude == {"label": ("hold",)}
    assert q.terms == ("fix",)


def test_search_issues_by_repo_state_and_label(bot: GitHub[Any], sandbox: Sandbox) -> None:
    sc = sandbox.scenario
    one = sc.open_pr("acme/shop", "dev-alice", "feat-a", {"a.txt": "a"}, title="Fix cart",
                     labels=["release: next"])  # fmt: skip
    two = sc.open_pr("acme/shop", "dev-bob", "feat-b", {"b.txt": "b"}, title="Add search",
                     labels=["release: next", "hold"])  # fmt: skip
    sc.open_pr("acme/shop", "dev-bob", "feat-c", {"c.txt": "c"}, title="Unlabelled")
    q = 'repo:acme/shop is:pr is:open label:"release: next"'
    found = bot.rest.search.issues_and_pull_requests(q=q).json()
    assert found["total_count"] == 2 and found["incomplete_results"] is False
    assert sorted(i["number"] for i in found["items"]) == [one, two]
    assert all("pull_request" in i for i in found["items"])
    q2 = q + " -label:hold"
    assert [
        i["number"] for i in bot.rest.search.issues_and_pull_requests(q=q2).json()["items"]
    ] == [one]
    q3 = "repo:acme/shop is:pr author:dev-bob search"
    assert [
        i["number"] for i in bot.rest.search.issues_and_pull_requests(q=q3).json()["items"]
    ] == [two]
    nothing = bot.rest.search.issues_and_pull_requests(q="repo:acme/shop is:closed").json()
    assert nothing["total_count"] == 0


@given(
    name=st.text(
        alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=":-_ "),
        min_size=1,
        max_size=20,
    ).filter(lambda s: s.strip() == s and s),
    negate=st.booleans(),
)
def test_a_quoted_label_round_trips_through_the_parser(name: str, negate: bool) -> None:
    q = parse_query(f'repo:o/r {"-" if negate else ""}label:"{name}" words')
    assert (q.exclude if negate else q.include)["label"] == (name,)
    assert q.include["repo"] == ("o/r",)
    assert q.terms == ("words",)
