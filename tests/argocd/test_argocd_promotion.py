"""Promotion waits for Argo CD, end to end over HTTP: the real bot reconciles a merged train
against the sandbox's GitHub and the sandbox's Argo CD (its Applications driven by the
bump commits), on a clock the test moves. Healthy (the soak starts at healthy, not at the
bump), Degraded and Missing (reverted with the Applications' evidence), never synced and
unreachable (the wait shows its reason in `plan`, the stage table and the check run, and
fails at the health timeout)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.config.operator import outbound_from_env
from bot.config.outbound import OutboundPolicy
from bot.core.ledger import parse_commit_message
from bot.sandbox.api import argocd
from bot.shell.reconcile import ReconcileResult

APP = "web-staging"
ARGOCD = """\
    argocd:
      source: {source}
      applications: [{app}]
      health_timeout: 5m
"""


@dataclass
class Wired:
    m: Merged
    policy: OutboundPolicy
    now: list[datetime]

    def reconcile(self, seconds: float = 0, **kw: Any) -> ReconcileResult:
        self.now[0] += timedelta(seconds=seconds)
        result = self.m.story.reconcile(self.now[0], outbound=self.policy, **kw)
        assert not [p for p in result.problems if "argocd" not in p.lower()], result.problems
        return result

    def staging(self) -> dict[str, Any]:
        return dict(self.m.record()["extra"]["promotion"]["steps"][0])

    def health(self) -> dict[str, Any]:
        return dict(self.m.record()["extra"].get("argocd", {}).get("staging") or {})

    def until_settled(self, every: float = 15, limit: int = 60) -> None:
        """Reconcile every `every` seconds while staging waits for Argo CD."""
        for _ in range(limit):
            record = self.m.record()
            staging = record["extra"]["promotion"]["steps"][0]
            if record["state"] != "promoting" or staging["started"]:
                return
            self.reconcile(every)
        raise AssertionError(f"still waiting: {self.health()}")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def wire(sandbox: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A merged train whose staging stage waits for Argo CD (`source`, Application `app`);
    the Application is added before the bump, with the test's `outcome` and `auto_sync`."""

    def make(source: str = "argocd-sandbox", app: str = APP, **application: Any) -> Wired:
        def with_argocd(text: str) -> str:
            block = ARGOCD.format(source=source, app=app)
            return text.replace("    soak: 10m\n", "    soak: 10m\n" + block, 1)

        m = merged_train(sandbox, edit_config=with_argocd)
        now = [m.merged_at]
        sandbox.server.clock = lambda: now[0]  # Argo CD's delays run on the test's clock
        argocd.add_application(sandbox.server, APP, repo=REPO, path="deploy/staging",
                               sync_delay=30, health_delay=60, **application)  # fmt: skip
        token = argocd.add_token(sandbox.server)
        sources = tmp_path / "sources.yml"
        sources.write_text(
            f"sources:\n  argocd-sandbox:\n    url: {sandbox.base_url}\n    token_env: TOKEN\n"
            f"  argocd-down:\n    url: http://127.0.0.1:{_closed_port()}\n    token_env: TOKEN\n"
        )
        policy = outbound_from_env({"RELEASE_TRAIN_SOURCES": str(sources), "TOKEN": token})
        return Wired(m, policy, now)

    yield make


def _revert_message(w: Wired) -> str:
    _sha, message = w.m.main_log(1)[0]
    assert message.startswith(f"revert {w.m.train_id} staging"), message
    return message


def _incident(w: Wired) -> dict[str, Any]:
    issues = w.m.kit.call("GET", f"/repos/{REPO}/issues?state=all", as_user="rm-dave")
    [incident] = [i for i in issues if "pull_request" not in i]
    return dict(incident)


def test_the_soak_starts_when_argo_cd_says_healthy_not_at_the_bump(wire: Any) -> None:
    w: Wired = wire()
    w.reconcile()  # merges the train and bumps staging
    bumped = w.now[0]
    staging = w.staging()
    assert staging["status"] == "soaking" and staging["commit"]
    assert staging["bumped"] == bumped.isoformat() and staging["started"] is None
    assert w.health()["status"] == "waiting" and "OutOfSync" in w.health()["reason"]

    planned = w.reconcile(15, dry_run=True).actions_planned  # `plan` shows the wait
    assert any("wait staging (waiting for Argo CD: web-staging: OutOfSync" in p for p in planned)
    body = w.m.story.pull(w.m.train_pr)["body"]
    assert "Waiting for Argo CD" in body and "| web-staging | OutOfSync |" in body

    w.until_settled()
    healthy_at = w.now[0]
    assert healthy_at - bumped >= timedelta(seconds=90)  # sync 30 s, rollout 60 s
    staging = w.staging()
    assert staging["started"] == healthy_at.isoformat()  # the soak's start: healthy
    assert staging["bumped"] == bumped.isoformat()  # the bump's time is kept
    view = w.health()
    assert view["status"] == "healthy" and view["at"] == healthy_at.isoformat()
    assert view["applications"] == [
        {
            "name": APP,
            "sync": "Synced",
            "revision": staging["commit"][:7],
            "health": "Healthy",
            "at_bump": True,
        }
    ]
    deployed = [e for e in w.m.record()["history"] if e["event"] == "stage-deployed"]
    assert len(deployed) == 1 and "Synced and Healthy" in deployed[0]["detail"]

    # soaked 10 minutes from the bump: not yet (the soak began at healthy)
    w.now[0] = bumped + timedelta(minutes=10, seconds=1)
    w.reconcile()
    assert w.staging()["status"] == "soaking"
    w.now[0] = healthy_at + timedelta(minutes=10)
    w.reconcile()
    assert w.staging()["status"] == "passed"
    assert w.m.record()["extra"]["promotion"]["steps"][1]["status"] == "soaking"  # canary


@pytest.mark.parametrize("outcome", ["Degraded", "Missing"])
def test_a_broken_rollout_is_reverted_with_the_applications_evidence(
    wire: Any, outcome: str
) -> None:
    w: Wired = wire(outcome=outcome)
    w.reconcile()
    w.until_settled()
    record = w.m.record()
    assert record["state"] == "rolled_back", record["state"]
    assert w.now[0] - w.m.merged_at < timedelta(minutes=5)  # at once, not at the timeout
    assert w.health()["status"] == "failed"
    assert f"web-staging is {outcome} at the bump" in record["end_reason"]

    _, _, trailers = parse_commit_message(_revert_message(w))
    evidence = [v for k, v in trailers if k == "Evidence"]
    if outcome == "Degraded":
        assert evidence == [
            "web-staging: Deployment web-staging/web-staging is Degraded (Deployment "
            '"web-staging" exceeded its progress deadline)'
        ]
    else:
        assert any("Missing" in e for e in evidence), evidence
    incident = _incident(w)
    assert f"is {outcome} at the bump" in incident["body"]
    assert "| argocd | staging | web-staging | fail |" in incident["body"]
    ledger = [parse_commit_message(e.split("\x00", 1)[1]) for e in w.m.story.ledger_log()]
    rolled = next(t for event, _, t in ledger if event == "rolled-back")
    assert [v for k, v in rolled if k == "Evidence"] == evidence


def test_an_application_that_never_syncs_fails_at_the_health_timeout(wire: Any) -> None:
    w: Wired = wire(auto_sync=False)
    w.reconcile()
    w.reconcile(4 * 60 + 50)
    assert w.m.record()["state"] == "promoting"
    assert "without the bump" in w.health()["reason"]
    w.reconcile(10)  # 5 minutes after the bump
    record = w.m.record()
    assert record["state"] == "rolled_back"
    assert "not Synced and Healthy by the health timeout" in record["end_reason"]
    assert "without the bump" in _revert_message(w)


@pytest.mark.parametrize(
    ("source", "app", "said"),
    [
        ("argocd-down", APP, "unreachable at http://127.0.0.1:"),
        ("argocd-sandbox", "web-nowhere", "HTTP 403 reading Application 'web-nowhere'"),
    ],
)
def test_an_unreadable_argo_cd_waits_with_the_reason_then_fails(
    wire: Any, source: str, app: str, said: str
) -> None:
    w: Wired = wire(source=source, app=app)
    w.reconcile()
    assert w.staging()["started"] is None
    assert said in w.health()["reason"]
    planned = w.reconcile(60, dry_run=True).actions_planned
    assert any("waiting for Argo CD" in p and said in p for p in planned), planned
    summary = _check_run_summary(w)
    assert "Waiting for Argo CD" in summary and said in summary.replace("\\", "")
    w.reconcile(5 * 60)
    record = w.m.record()
    assert record["state"] == "rolled_back"  # never a pass on missing evidence
    assert "health timeout" in record["end_reason"] and said in record["end_reason"]


def _check_run_summary(w: Wired) -> str:
    sha = w.m.record()["merge_sha"]
    runs = w.m.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    [run] = [r for r in runs["check_runs"] if r["name"] == "release-train/promotion"]
    return str(run["output"]["summary"])
