"""The pure health verdict, case by case (no network, `now` passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.argocd_health import (
    AppState,
    Condition,
    Health,
    ResourceHealth,
    Unobservable,
    judge_health,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
BUMP, OLD = "b" * 40, "a" * 40
TIMEOUT = timedelta(minutes=10)


def contains(revision: str, bump: str) -> bool:
    return revision == bump  # the test's history: OLD, then BUMP


def verdict(*apps: AppState, minutes: float = 1) -> tuple[Health, str]:
    found = judge_health(apps, bump=BUMP, contains=contains, now=T0 + timedelta(minutes=minutes),
                         started=T0, timeout=TIMEOUT)  # fmt: skip
    return found.status, found.reason


def synced(health: str = "Healthy", **kw: object) -> AppState:
    return AppState("web", sync="Synced", revisions=(BUMP,), health=health, **kw)  # type: ignore[arg-type]


def test_every_application_healthy_at_the_bump_lets_the_soak_start() -> None:
    api = AppState("api", sync="Synced", revisions=("x", BUMP), health="Healthy")  # multi-source
    assert verdict(synced(), api)[0] is Health.HEALTHY


@pytest.mark.parametrize(("app", "reason"), [
    (AppState("web", sync="OutOfSync", revisions=(OLD,), health="Healthy"),
     "web: OutOfSync at aaaaaaa, without the bump bbbbbbb"),
    (AppState("web", sync="Synced", revisions=(OLD,), health="Healthy"),
     "web: Synced at aaaaaaa, without the bump bbbbbbb"),
    (AppState("web", sync="OutOfSync", revisions=(BUMP,), health="Healthy"),
     "web: OutOfSync at bbbbbbb"),
    (synced(operation_phase="Running"), "web: sync operation Running"),
    (synced("Progressing", health_message="rolling"), "web: Progressing (rolling)"),
    (synced("Suspended"), "web: Suspended"),
    (AppState.absent("web", "Argo CD has no Application 'web'"),
     "web: Argo CD has no Application 'web'"),
])  # fmt: skip
def test_waiting_says_why(app: AppState, reason: str) -> None:
    assert verdict(app) == (Health.WAITING, reason)


def test_degraded_before_the_bump_synced_is_waited_on_not_blamed_on_it() -> None:
    old = AppState("web", sync="OutOfSync", revisions=(OLD,), health="Degraded")
    assert verdict(old)[0] is Health.WAITING
    assert verdict(old, minutes=10)[0] is Health.FAILED  # ...until the timeout


@pytest.mark.parametrize("health", ["Degraded", "Missing"])
def test_degraded_or_missing_at_the_bump_fails_at_once_with_evidence(health: str) -> None:
    app = synced(
        health,
        conditions=(Condition("SyncError", "hook failed"),),
        resources=(
            ResourceHealth("Deployment", "web", "shop", "Synced", health, "deadline exceeded"),
            ResourceHealth("Service", "web", "shop", "Synced", "Healthy"),
            ResourceHealth("ConfigMap", "web", "shop", "Synced", ""),
        ),
    )
    found = judge_health((app, synced()), bump=BUMP, contains=contains, now=T0, started=T0,
                         timeout=TIMEOUT)  # fmt: skip
    assert found.status is Health.FAILED
    assert found.reason == f"web is {health} at the bump"
    assert found.evidence == (
        "web: condition SyncError (hook failed)",
        f"web: Deployment shop/web is {health} (deadline exceeded)",
    )


def test_progressing_counts_toward_the_timeout() -> None:
    progressing = synced("Progressing")
    assert verdict(progressing, minutes=9.99)[0] is Health.WAITING
    status, reason = verdict(progressing, minutes=10)
    assert status is Health.FAILED
    assert reason == (
        "not Synced and Healthy by the health timeout (2026-03-02 10:10:00 UTC): web: Progressing"
    )


def test_unobservable_waits_then_fails_never_passes() -> None:
    down = Unobservable("argocd: unreachable at http://127.0.0.1:9")
    for minutes, status in ((0, Health.WAITING), (9, Health.WAITING), (10, Health.FAILED)):
        found = judge_health(down, bump=BUMP, contains=contains, started=T0, timeout=TIMEOUT,
                             now=T0 + timedelta(minutes=minutes))  # fmt: skip
        assert found.status is status
        assert found.evidence == (down.reason,)


def test_no_applications_is_not_a_pass() -> None:
    assert verdict()[0] is Health.WAITING
    assert verdict(minutes=11)[0] is Health.FAILED


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ("env=prod", {"env": "prod"}, True),
    ("env==prod,tier!=db", {"env": "prod"}, True),
    ("env=prod,tier!=db", {"env": "prod", "tier": "db"}, False),
    ("env in (prod, staging)", {"env": "staging"}, True),
    ("env notin (prod)", {}, True),
    ("team", {"team": "x"}, True),
    ("!team", {"team": "x"}, False),
    ("example.com/part-of=shop", {"example.com/part-of": "shop"}, True),
])  # fmt: skip
def test_label_selectors_the_config_accepts_match_in_the_sandbox(
    selector: str, labels: dict[str, str], expected: bool
) -> None:
    from bot.config.argocd_checks import parse_selector
    from bot.sandbox.api import argocd

    assert parse_selector(selector) == argocd.parse_selector(selector)
    assert argocd.selector_matches(argocd.parse_selector(selector), labels) is expected


@pytest.mark.parametrize("bad", ["", "env=(x", "=x", "env in prod", "a b"])
def test_bad_selectors_are_refused_by_both(bad: str) -> None:
    from bot.config.argocd_checks import parse_selector
    from bot.sandbox.api import argocd

    for parse in (parse_selector, argocd.parse_selector):
        with pytest.raises(ValueError):
            parse(bad)


def test_markdown_shows_each_application_and_neutralises_what_argo_cd_said() -> None:
    from bot.core.argocd_health import health_markdown

    app = synced(
        "Degraded",
        health_message="<!-- x --> @team | [click](http://x)",
        resources=(ResourceHealth("Deployment", "web", "shop", "Synced", "Degraded", "@all"),),
    )
    found = judge_health((app,), bump=BUMP, contains=contains, now=T0, started=T0,
                         timeout=TIMEOUT)  # fmt: skip
    text = health_markdown(found)
    lines = text.splitlines()
    assert lines[0].startswith("**Argo CD: failed**: web is Degraded at the bump (")
    assert "| web | Synced | bbbbbbb | Degraded | yes |" in lines
    assert "<!--" not in text and "@team" not in text
    assert "[click](" not in text and "\\[click\\](" in text  # no link, the text kept
    assert lines[-1] == "- web: Deployment shop/web is Degraded (@\u200ball)"
