"""The adapter and the health verdict against the sandbox's Argo CD over HTTP, through the
operator's policy: Healthy, Degraded, Missing, never synced, unreachable, token refused."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.adapters.argocd import client_for, observe
from bot.config.model import ArgoCD
from bot.config.outbound import Mode, OutboundRefused
from bot.core.argocd_health import Health, HealthVerdict, Unobservable, judge_health
from bot.sandbox.api import argocd

from .conftest import REPO, ArgoWorld

STAGING = ArgoCD(source="argocd-sandbox", applications=("shop-staging",),
                 health_timeout=timedelta(minutes=5))  # fmt: skip


def judge(argo: ArgoWorld, config: ArgoCD, bump: str, started: datetime) -> HealthVerdict:
    return judge_health(
        observe(config, argo.policy),
        bump=bump,
        contains=argo.contains,
        now=argo.now[0],
        started=started,
        timeout=config.health_timeout,
    )


def watch(argo: ArgoWorld, config: ArgoCD, bump: str, *, every: float = 15) -> list[HealthVerdict]:
    """The bot's rounds after the bump, every `every` seconds, until a verdict settles."""
    started, verdicts = argo.now[0], []
    while True:
        verdicts.append(judge(argo, config, bump, started))
        if verdicts[-1].status is not Health.WAITING:
            return verdicts
        argo.tick(every)


def test_healthy_after_progressing_and_only_then(argo: ArgoWorld) -> None:
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           sync_delay=20, health_delay=40)  # fmt: skip
    observe(STAGING, argo.policy)  # Argo CD has seen the Application before the bump
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    verdicts = watch(argo, STAGING, bump)
    last = verdicts[-1]
    assert last.status is Health.HEALTHY and last.soak_may_start
    assert argo.now[0] - verdicts[0].deadline + STAGING.health_timeout == timedelta(seconds=60)
    reasons = [v.reason for v in verdicts[:-1]]
    assert any("OutOfSync" in r and "without the bump" in r for r in reasons)
    assert any("Progressing" in r for r in reasons)
    [row] = last.rows
    assert (row.name, row.sync, row.health, row.at_bump) == ("shop-staging", "Synced", "Healthy",
                                                             True)  # fmt: skip
    assert row.revision == bump[:7]


def test_degraded_at_the_bump_fails_with_the_resource_as_evidence(argo: ArgoWorld) -> None:
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           outcome="Degraded", sync_delay=0, health_delay=30)  # fmt: skip
    observe(STAGING, argo.policy)
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    last = watch(argo, STAGING, bump)[-1]
    assert last.status is Health.FAILED
    assert "shop-staging is Degraded at the bump" in last.reason
    assert last.evidence == (
        "shop-staging: Deployment shop-staging/shop-staging is Degraded (Deployment "
        '"shop-staging" exceeded its progress deadline)',
    )
    assert argo.now[0] < last.deadline  # failed at once, not at the timeout


def test_missing_resources_at_the_bump_fail(argo: ArgoWorld) -> None:
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           outcome="Missing", sync_delay=0, health_delay=0)  # fmt: skip
    observe(STAGING, argo.policy)
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    last = watch(argo, STAGING, bump)[-1]
    assert last.status is Health.FAILED
    assert "is Missing at the bump" in last.reason


@pytest.mark.parametrize(("project", "said"), [
    ("default", "Argo CD has no Application 'shop-canary' in project 'default'"),
    ("", "HTTP 403 reading Application 'shop-canary' with the token of source argocd-sandbox: "
         "permission denied (without argocd.project, Argo CD also answers 403"),
])  # fmt: skip
def test_an_application_argo_cd_does_not_know_waits_with_the_reason_then_fails(
    argo: ArgoWorld, project: str, said: str
) -> None:
    config = replace(STAGING, applications=("shop-canary",), project=project)
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    verdicts = watch(argo, config, bump, every=60)
    assert [v.status for v in verdicts] == [Health.WAITING] * 5 + [Health.FAILED]
    assert said in verdicts[0].reason
    assert verdicts[-1].reason.startswith("not Synced and Healthy by the health timeout")
    assert said in verdicts[-1].reason


def test_never_synced_times_out_showing_the_old_revision(argo: ArgoWorld) -> None:
    first = argo.sb.git.resolve(REPO, "main")
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           auto_sync=False)  # fmt: skip
    observe(STAGING, argo.policy)
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    verdicts = watch(argo, STAGING, bump, every=60)
    assert [v.status for v in verdicts] == [Health.WAITING] * 5 + [Health.FAILED]
    assert f"OutOfSync at {first[:7]}, without the bump {bump[:7]}" in verdicts[-1].reason
    assert verdicts[-1].rows[0].at_bump is False


def test_unreachable_argo_cd_waits_then_fails(argo: ArgoWorld) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = replace(STAGING, source="", server=f"http://127.0.0.1:{port}")
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    verdicts = watch(argo, config, bump, every=100)
    assert [v.status for v in verdicts] == [Health.WAITING] * 3 + [Health.FAILED]
    assert f"argocd: unreachable at http://127.0.0.1:{port}" in verdicts[0].reason
    assert verdicts[-1].evidence == (verdicts[0].reason,)


def test_a_refused_token_is_named(argo: ArgoWorld) -> None:
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging")
    found = observe(replace(STAGING, source="argocd-wrong"), argo.policy)
    assert found == Unobservable(
        "argocd: HTTP 401 reading Application 'shop-staging' with the token of source "
        "argocd-wrong: invalid session: token signature is invalid"
    )
    server = observe(replace(STAGING, source="", server=argo.sb.base_url), argo.policy)
    assert isinstance(server, Unobservable)
    assert "with no token (argocd.server carries none; only an operator's source does)" in (
        server.reason
    )


def test_selector_reads_every_matching_application_with_refresh(argo: ArgoWorld) -> None:
    for name in ("shop-eu", "shop-us"):
        argocd.add_application(argo.sb.server, name, repo=REPO, path="deploy/production",
                               labels={"env": "production"}, sync_delay=0, health_delay=0,
                               poll=3600)  # fmt: skip
    config = replace(STAGING, applications=(), selector="env=production", refresh=True)
    observe(config, argo.policy)
    bump = argo.bump("deploy/production/app.yaml", "image: shop:2\n")
    verdict = judge(argo, config, bump, argo.now[0])
    assert verdict.status is Health.HEALTHY  # refresh: no wait for the hour-long poll
    assert [r.name for r in verdict.rows] == ["shop-eu", "shop-us"]
    slow = judge(argo, replace(config, refresh=False), bump, argo.now[0])
    assert slow.status is Health.HEALTHY  # already noticed: the refresh moved them


def test_a_selector_matching_nothing_waits(argo: ArgoWorld) -> None:
    config = replace(STAGING, applications=(), selector="env=nowhere")
    verdict = judge(argo, config, "0" * 40, argo.now[0])
    assert verdict.status is Health.WAITING
    assert verdict.reason == "no Application to check (the selector matched none)"


def test_the_app_refuses_a_loopback_server_before_connecting(argo: ArgoWorld) -> None:
    app_policy = replace(argo.policy, mode=Mode.APP)
    config = replace(STAGING, source="", server=argo.sb.base_url)
    with pytest.raises(OutboundRefused, match=r"argocd\.server: this server reaches only"):
        client_for(config, app_policy)
    before = len(argo.sb.server.request_log)
    found = observe(config, app_policy)
    assert isinstance(found, Unobservable)
    assert "RELEASE_TRAIN_ALLOW_URLS" in found.reason  # the stage waits, saying why
    assert len(argo.sb.server.request_log) == before  # nothing was sent


def test_a_5xx_is_an_external_failure_the_stage_waits_out(argo: ArgoWorld) -> None:
    from bot.sandbox import faults

    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging")
    plan = faults.FaultPlan(script={("GET /api/v1/applications/shop-staging", 0): 503})
    faults.install(argo.sb.server, plan)
    first = observe(STAGING, argo.policy)
    assert isinstance(first, Unobservable)
    assert first.reason.startswith(f"argocd: HTTP 503 from {argo.sb.base_url}")
    again = observe(STAGING, argo.policy)  # the next round reads it fine
    assert not isinstance(again, Unobservable) and again[0].health == "Healthy"
