"""The sandbox's Argo CD: Argo CD's shapes (checked against its published description),
its error answers, and the git-driven transitions on the sandbox's clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox.api import argocd

from .conftest import REPO, ArgoWorld
from .swagger_check import check

ONE = "/api/v1/applications/{name}"
LIST = "/api/v1/applications"


def get(argo: ArgoWorld, path: str, token: str | None = "", **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or argo.token}"} if token is not None else {}
    return httpx.get(argo.sb.base_url + path, params=params, headers=headers, timeout=5)


def app(argo: ArgoWorld, name: str, **params: str) -> dict[str, Any]:
    response = get(argo, f"/api/v1/applications/{name}", **params)
    assert response.status_code == 200, response.text
    check(ONE, 200, response.json())
    body: dict[str, Any] = response.json()
    return body


def phase(body: dict[str, Any]) -> tuple[str, str, str]:
    status = body["status"]
    return status["sync"]["status"], status["sync"]["revision"], status["health"]["status"]


def test_a_bump_goes_out_of_sync_then_progressing_then_healthy(argo: ArgoWorld) -> None:
    first = argo.sb.git.resolve(REPO, "main")
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           sync_delay=30, health_delay=60)  # fmt: skip
    assert phase(app(argo, "shop-staging")) == ("Synced", first, "Healthy")
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    seen = [phase(app(argo, "shop-staging"))]
    for seconds in (29, 1, 59, 1):
        argo.tick(seconds)
        seen.append(phase(app(argo, "shop-staging")))
    assert seen == [
        ("OutOfSync", first, "Healthy"),
        ("OutOfSync", first, "Healthy"),
        ("Synced", bump, "Progressing"),
        ("Synced", bump, "Progressing"),
        ("Synced", bump, "Healthy"),
    ]
    body = app(argo, "shop-staging")
    assert body["status"]["operationState"]["phase"] == "Succeeded"
    assert body["spec"]["source"]["targetRevision"] == "main"


def test_a_commit_elsewhere_in_the_repository_rolls_nothing_out(argo: ArgoWorld) -> None:
    """As Argo CD: the revision is the branch head it compared, Synced at once when the
    commit did not touch the Application's path (nothing Progressing)."""
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging")
    app(argo, "shop-staging")
    other = argo.bump("deploy/production/app.yaml", "image: shop:2\n")
    assert phase(app(argo, "shop-staging")) == ("Synced", other, "Healthy")
    argo.tick(600)
    assert phase(app(argo, "shop-staging")) == ("Synced", other, "Healthy")


def test_an_application_added_before_a_bump_rolls_it_out_however_late_it_is_read(
    argo: ArgoWorld,
) -> None:
    first = argo.sb.git.resolve(REPO, "main")
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           sync_delay=10, health_delay=10)  # fmt: skip
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")  # read for the first time now
    assert phase(app(argo, "shop-staging")) == ("OutOfSync", first, "Healthy")
    argo.tick(10)
    assert phase(app(argo, "shop-staging")) == ("Synced", bump, "Progressing")


def test_degraded_outcome_reports_the_resource_and_its_message(argo: ArgoWorld) -> None:
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           outcome="Degraded", sync_delay=0, health_delay=10)  # fmt: skip
    app(argo, "shop-staging")
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    app(argo, "shop-staging")
    argo.tick(10)
    body = app(argo, "shop-staging")
    assert phase(body) == ("Synced", bump, "Degraded")
    [resource] = body["status"]["resources"]
    assert resource["kind"] == "Deployment"
    assert resource["health"] == {
        "status": "Degraded",
        "message": 'Deployment "shop-staging" exceeded its progress deadline',
    }


def test_without_refresh_a_polling_controller_notices_the_bump_only_after_its_poll(
    argo: ArgoWorld,
) -> None:
    first = argo.sb.git.resolve(REPO, "main")
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging",
                           sync_delay=0, health_delay=0, poll=180)  # fmt: skip
    app(argo, "shop-staging")
    bump = argo.bump("deploy/staging/app.yaml", "image: shop:2\n")
    argo.tick(60)
    assert phase(app(argo, "shop-staging")) == ("Synced", first, "Healthy")
    assert phase(app(argo, "shop-staging", refresh="normal")) == ("Synced", bump, "Healthy")


def test_list_filters_by_label_selector_and_matches_the_published_shape(
    argo: ArgoWorld,
) -> None:
    for name, env in (("shop-staging", "staging"), ("shop-production", "production")):
        labels = {"env": env, "app.kubernetes.io/part-of": "shop"}
        argocd.add_application(argo.sb.server, name, repo=REPO, path=f"deploy/{env}", labels=labels)
    answers = {}
    for selector in ("env=staging", "app.kubernetes.io/part-of=shop", "env in (qa)", "!env"):
        response = get(argo, LIST, selector=selector)
        assert response.status_code == 200
        check(LIST, 200, response.json())
        answers[selector] = [i["metadata"]["name"] for i in response.json()["items"]]
    assert answers == {
        "env=staging": ["shop-staging"],
        "app.kubernetes.io/part-of=shop": ["shop-production", "shop-staging"],
        "env in (qa)": [],
        "!env": [],
    }


@pytest.mark.parametrize(
    ("token", "params", "status", "message"),
    [
        (None, {}, 401, "no session information"),
        ("argocd-forged", {}, 401, "invalid session: token signature is invalid"),
        ("", {}, 403, "permission denied"),  # Argo CD hides whether it exists
        ("", {"project": "default"}, 404, 'applications.argoproj.io "nope" not found'),
    ],
)
def test_errors_have_argo_cd_status_and_body(
    argo: ArgoWorld, token: str | None, params: dict[str, str], status: int, message: str
) -> None:
    response = get(argo, "/api/v1/applications/nope", token, **params)
    assert response.status_code == status
    check(ONE, status, response.json())
    assert response.json()["message"] == message
    assert response.json()["error"] == message
    assert "X-RateLimit-Limit" not in response.headers  # GitHub's rate limit stays out


def test_a_bad_selector_is_a_400(argo: ArgoWorld) -> None:
    response = get(argo, LIST, selector="env=(x")
    assert response.status_code == 400
    check(LIST, 400, response.json())
    assert response.json()["code"] == 3


def test_the_schema_check_is_strict(argo: ArgoWorld) -> None:
    argocd.add_application(argo.sb.server, "shop-staging", repo=REPO, path="deploy/staging")
    body = app(argo, "shop-staging")
    body["status"]["sync"]["revison"] = "typo"
    with pytest.raises(AssertionError, match="revison"):
        check(ONE, 200, body)
    body["status"]["sync"].pop("revison")
    body["status"]["health"]["lastTransitionTime"] = "yesterday"
    with pytest.raises(AssertionError, match="date-time"):
        check(ONE, 200, body)
