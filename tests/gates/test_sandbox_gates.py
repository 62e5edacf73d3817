"""The gates over the sandbox (a local GitHub over real git, over HTTP): facts are read with
githubkit exactly as an adapter would, parsed by `from_github`, judged by the pure gates,
and published as check runs whose annotations arrive complete."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from bot.config.model import ApprovalRule
from bot.core.gates import ci, manifests, policy, security
from bot.core.gates.base import Annotation, GateResult
from bot.core.gates.checkrun import plan_check_run, publish_action
from bot.core.gates.from_github import (
    check_runs_from_api,
    code_scanning_unavailable,
    commit_statuses_from_api,
    existing_check_run_from_api,
    open_alerts_from_api,
    reviews_from_api,
)
from bot.core.gates.verdict import train_verdict
from bot.core.manifests import Bump
from bot.sandbox.runner import Sandbox

REPO = "acme/shop"
BRANCH = "release/shop-2026-11-02"
T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@dataclass
class Train:
    sandbox: Sandbox
    gh: GitHub[Any]
    clock: Clock
    number: int

    @property
    def head(self) -> str:
        sha = self.sandbox.git.resolve(REPO, BRANCH)
        assert sha is not None
        return sha

    def get(self, path: str, **params: Any) -> Any:
        return self.gh.request("GET", f"/repos/{REPO}{path}", params=params or None).json()

    def text(self, path: str) -> str | None:
        try:
            response = self.gh.request(
                "GET", f"/repos/{REPO}/contents/{path}", params={"ref": BRANCH}
            )
        except RequestFailed as exc:
            if exc.response.status_code == 404:
                return None
            raise
        return base64.b64decode(response.json()["content"]).decode()

    def teams(self) -> dict[str, frozenset[str]]:
        out = {}
        for slug in ("developers", "reviewers", "release-managers"):
            members = self.gh.request("GET", f"/orgs/acme/teams/{slug}/members").json()
            out[f"acme/{slug}"] = frozenset(m["login"] for m in members)
        return out


@pytest.fixture
def train(sandbox: Sandbox) -> Iterator[Train]:
    clock = Clock()
    sandbox.server.clock = clock
    sandbox.scenario.demo()
    number = sandbox.scenario.open_pr(
        REPO,
        "release-train[bot]",
        BRANCH,
        {
            "services/checkout/main.go": "package main\n\nfunc main() {}\n",
            "deploy/checkout/base/deployment.yaml": _touched_checkout_deployment(),
        },
        title="Release train shop-2026-11-02",
    )
    with GitHub(
        sandbox.bot_token(), base_url=sandbox.base_url + "/", auto_retry=False, http_cache=False
    ) as gh:
        yield Train(sandbox, gh, clock, number)


def _touched_checkout_deployment() -> str | None:
    import bot.sandbox as pkg

    demo = Path(pkg.__file__).parent / "demo" / "shop"
    text = (demo / "deploy/checkout/base/deployment.yaml").read_text()
    return text + "# touched by the release branch\n"


def ci_facts(t: Train) -> ci.CIFacts:
    runs = check_runs_from_api(t.get(f"/commits/{t.head}/check-runs"))
    statuses = commit_statuses_from_api(t.get(f"/commits/{t.head}/status"))
    return ci.CIFacts(t.head, T0, runs, statuses)


def test_ci_gate_pending_passing_failing_over_http(train: Train) -> None:
    settings = ci.CISettings(required=("build", "test-*", "ci/lint"))
    sc = train.sandbox.scenario
    sc.set_check(REPO, train.head, "build", status="in_progress", conclusion=None)
    sc.set_check(REPO, train.head, "test-unit")
    sc.set_status(REPO, train.head, "ci/lint", "pending")
    pending = ci.GATE.evaluate(ci_facts(train), settings, T0 + timedelta(minutes=5))
    assert pending.conclusion == "in_progress", pending.summary
    sc.set_check(REPO, train.head, "build")
    sc.set_status(REPO, train.head, "ci/lint", "success")
    train.clock.tick()
    passing = ci.GATE.evaluate(ci_facts(train), settings, T0 + timedelta(minutes=6))
    assert passing.conclusion == "success", passing.summary
    sc.set_check(REPO, train.head, "test-unit", conclusion="failure")
    failing = ci.GATE.evaluate(ci_facts(train), settings, T0 + timedelta(minutes=7))
    assert failing.conclusion == "failure" and "test-unit" in failing.title


def security_facts(t: Train) -> security.SecurityFacts:
    try:
        response = t.gh.request(
            "GET",
            f"/repos/{REPO}/code-scanning/alerts",
            params={"ref": f"refs/heads/{BRANCH}", "state": "open"},
        )
    except RequestFailed as exc:
        status = exc.response.status_code
        reason = code_scanning_unavailable(status, exc.response.json().get("message", ""))
        if reason is None:
            raise
        return security.SecurityFacts(unavailable=reason)
    return security.SecurityFacts(alerts=open_alerts_from_api(response.json()), ref=BRANCH)


def test_security_gate_unavailable_passing_failing_over_http(train: Train) -> None:
    from bot.sandbox.api.code_scanning import mark_analyzed

    settings = security.SecuritySettings()
    unavailable = security.GATE.evaluate(security_facts(train), settings, T0)
    assert unavailable.conclusion == "neutral" and "no analysis found" in unavailable.summary
    mark_analyzed(train.sandbox.store, REPO, f"refs/heads/{BRANCH}")
    clean = security.GATE.evaluate(security_facts(train), settings, T0)
    assert clean.conclusion == "success"
    train.sandbox.scenario.alert(
        REPO,
        "go/sql-injection",
        ref=f"refs/heads/{BRANCH}",
        path="services/checkout/main.go",
        line=3,
    )
    train.sandbox.scenario.alert(
        REPO, "go/unused", severity="note", security_severity=None, ref=f"refs/heads/{BRANCH}"
    )
    failing = security.GATE.evaluate(security_facts(train), settings, T0)
    assert failing.conclusion == "failure"
    assert [(a.path, a.start_line) for a in failing.annotations] == [
        ("services/checkout/main.go", 3)
    ]


def policy_facts(t: Train, changed_at: datetime) -> policy.PolicyFacts:
    files = t.get(f"/pulls/{t.number}/files")
    reviews = reviews_from_api(t.get(f"/pulls/{t.number}/reviews"))
    roles = {
        login: t.get(f"/collaborators/{login}/permission")["role_name"]
        for login in {r.user for r in reviews}
    }
    return policy.PolicyFacts(
        reviews=reviews,
        team_members=t.teams(),
        codeowners_text=t.text(".github/CODEOWNERS"),
        changed_paths=tuple(f["filename"] for f in files),
        boarded_authors=("dev-bob",),
        branch_changed_at=changed_at,
        permissions=roles,
        head_sha=t.get(f"/pulls/{t.number}")["head"]["sha"],
    )


def test_policy_gate_self_approval_codeowners_and_stale_over_http(train: Train) -> None:
    sc = train.sandbox.scenario
    rule = policy.PolicySettings(approvals=ApprovalRule(required=1, codeowners=True))
    pushed = T0
    none_yet = policy.GATE.evaluate(policy_facts(train, pushed), rule, T0)
    assert none_yet.conclusion == "action_required"
    train.clock.tick(10)
    sc.review(REPO, train.number, "dev-bob")  # author of a boarded PR: never counts
    train.clock.tick(1)
    sc.review(REPO, train.number, "rev-carol")  # approves but owns none of the changed paths
    result = policy.GATE.evaluate(policy_facts(train, pushed), rule, train.clock.now)
    assert result.conclusion == "action_required"
    ignored = dict(map(tuple, result.details["ignored"]))
    assert ignored["dev-bob"] == "author of a boarded PR"
    assert ignored["rev-carol"] == "not a code owner of the changed paths"
    assert result.details["uncovered_paths"] == [
        "deploy/checkout/base/deployment.yaml",
        "services/checkout/main.go",
    ]
    train.clock.tick(1)
    sc.review(REPO, train.number, "dev-alice")  # a developer: owns services/ via `*`
    half = policy.GATE.evaluate(policy_facts(train, pushed), rule, train.clock.now)
    assert half.conclusion == "action_required"
    assert half.details["uncovered_paths"] == ["deploy/checkout/base/deployment.yaml"]
    train.clock.tick(1)
    sc.review(REPO, train.number, "rm-dave")  # release manager: owns /deploy/
    train.clock.tick(1)
    sc.review(REPO, train.number, "dev-alice", "COMMENT", "one question")  # keeps her approval
    ok = policy.GATE.evaluate(policy_facts(train, pushed), rule, train.clock.now)
    assert ok.conclusion == "success", ok.summary
    assert ok.details["approved_by"] == ["dev-alice", "rm-dave"]
    # a push to the release branch after the approval makes it stale
    pushed = train.clock.tick(5)
    sc.push(
        REPO, BRANCH, {"services/checkout/main.go": "package main\n// v2\n"}, "fix", "dev-alice"
    )
    stale = policy.GATE.evaluate(policy_facts(train, pushed), rule, train.clock.now)
    assert stale.conclusion == "action_required"
    assert any("stale" in why for _, why in stale.details["ignored"])
    train.clock.tick(1)
    sc.review(REPO, train.number, "rev-carol", "REQUEST_CHANGES", "not yet")
    for who in ("dev-alice", "rm-dave"):
        train.clock.tick(1)
        sc.review(REPO, train.number, who)
    blocked = policy.GATE.evaluate(policy_facts(train, pushed), rule, train.clock.now)
    assert blocked.conclusion == "action_required"
    assert "changes requested by @rev-carol" in blocked.title


def test_manifests_gate_on_the_demo_manifests_over_http(train: Train) -> None:
    paths = (
        "deploy/checkout/overlays/staging/kustomization.yaml",
        "deploy/payments/staging/deployment.yaml",
        "deploy/frontend/values-staging.yaml",
    )
    files = tuple(
        manifests.ManifestFile(
            p,
            train.text(p),
            tuple(
                Bump(r, tag="2026.11.02") for r in sorted({s.repository for s in _sites(train, p)})
            ),
        )
        for p in paths
    )
    assert all(f.bumps for f in files)
    result = manifests.GATE.evaluate(
        manifests.ManifestFacts(files), manifests.ManifestSettings(), T0
    )
    assert result.conclusion == "success", result.summary
    assert result.summary.count("| 1 edit(s) |") == 3
    assert "kustomization.json" in result.summary and "deployment.json" in result.summary
    bad_text = (train.text(paths[1]) or "").replace("image:", "images: []\n          image:")
    typo = manifests.ManifestFile(paths[1], bad_text, files[1].bumps)
    failing = manifests.GATE.evaluate(
        manifests.ManifestFacts((typo,)), manifests.ManifestSettings(), T0
    )
    assert failing.conclusion == "failure"
    assert "images: unknown field" in failing.annotations[0].message
    broken = manifests.ManifestFile("deploy/gone.yaml", train.text("deploy/gone.yaml"))
    missing = manifests.GATE.evaluate(
        manifests.ManifestFacts((broken,)), manifests.ManifestSettings(), T0
    )
    assert missing.conclusion == "failure"


def _sites(t: Train, path: str) -> list[Any]:
    from bot.core.manifests import find_images

    return find_images(t.text(path) or "", path)


def test_check_runs_publish_completely_and_idempotently(train: Train) -> None:
    anns = tuple(
        Annotation(f"deploy/f{i}.yaml", i + 1, i + 1, "failure", f"problem {i}", "t")
        for i in range(137)
    )
    result = GateResult(
        "manifests", "failure", "137 problems", "| a | b |\n| --- | --- |", annotations=anns
    )
    plan = plan_check_run(result, train.head, T0)
    assert publish_action(None, plan) == "create"
    created = train.gh.request("POST", f"/repos/{REPO}/check-runs", json=plan.first).json()
    for body in plan.rest:
        train.gh.request("PATCH", f"/repos/{REPO}/check-runs/{created['id']}", json=body)
    got = train.get(f"/check-runs/{created['id']}")
    assert got["name"] == "release-train/manifests" and got["conclusion"] == "failure"
    pages = [
        train.get(f"/check-runs/{created['id']}/annotations", per_page=100, page=p) for p in (1, 2)
    ]
    messages = [a["message"] for page in pages for a in page]
    assert messages == [f"problem {i}" for i in range(137)]
    existing = existing_check_run_from_api(got)
    assert publish_action(existing, plan) == "skip"  # reconcile twice: the second does nothing
    green = plan_check_run(GateResult("manifests", "success", "ok", "ok"), train.head, T0)
    assert publish_action(existing, green) == "create"  # else old annotations would linger


def test_merge_only_on_a_full_green_verdict(train: Train) -> None:
    sc = train.sandbox.scenario
    sc.set_check(REPO, train.head, "build")
    train.clock.tick(3)
    sc.review(REPO, train.number, "rm-dave")
    results = [
        ci.GATE.evaluate(ci_facts(train), ci.CISettings(required=("build",)), train.clock.now),
        security.GATE.evaluate(security_facts(train), security.SecuritySettings(), T0),
        policy.GATE.evaluate(policy_facts(train, T0), policy.PolicySettings(), train.clock.now),
    ]
    assert [r.conclusion for r in results] == ["success", "neutral", "success"]
    assert not train_verdict(results, ()).may_merge
    verdict = train_verdict(results, ("security",))
    assert verdict.may_merge and verdict.trailer == "ci=success, security=neutral, policy=success"
