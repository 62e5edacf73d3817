"""Installation tokens narrowed to what a reconcile needs (issue 27), against the sandbox's
App endpoints over HTTP: a token minted for one repository is refused on another as GitHub
refuses it (404), read-only permissions cannot write, and asking beyond the installation's
grant is a 422 that `AppAuth` avoids by capping its request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from transports.test_auth import app_auth, posts

from bot.config.repo import load_repo_config
from bot.core.consent import operator_policy, parse_operator_pairs
from bot.errors import ExternalError
from bot.sandbox.runner import Sandbox
from bot.transports.scoped import RECONCILE_PERMISSIONS, reconcile_token

APP = "acme/app"
GITOPS = "acme/gitops"
OTHER = "acme/payroll"
STAGES = f"""\
version: 1
trains:
  - name: web
stages:
  - name: staging
    repository: {GITOPS}
    manifests: ["clusters/*"]
"""


def _get(sandbox: Sandbox, token: str, path: str) -> int:
    headers = {"Authorization": f"token {token}"}
    return httpx.get(sandbox.base_url + path, headers=headers, timeout=10).status_code


def _repos(sandbox: Sandbox) -> None:
    for repo, files in (
        (APP, {".github/release-train.yml": STAGES}),
        (GITOPS, {".github/release-train.yml": f"accept_from: [{APP}]\n"}),
        (OTHER, {"README.md": "secret plans\n"}),
    ):
        sandbox.scenario.create_repo(repo, files)


def test_a_token_for_one_repository_is_refused_on_another(sandbox: Sandbox) -> None:
    _repos(sandbox)
    auth, minted = app_auth(sandbox)
    [inst] = auth.installations()
    token = auth.installation_token(inst, (APP,), RECONCILE_PERMISSIONS)
    assert token in minted
    assert _get(sandbox, token, f"/repos/{APP}/contents/.github/release-train.yml") == 200
    assert _get(sandbox, token, f"/repos/{OTHER}/contents/README.md") == 404
    assert _get(sandbox, token, f"/repos/{OTHER}") == 404
    listed = httpx.get(
        sandbox.base_url + "/installation/repositories",
        headers={"Authorization": f"token {token}"},
        timeout=10,
    ).json()
    assert [r["full_name"] for r in listed["repositories"]] == [APP]
    # the whole installation's token still reaches both; narrowed tokens are cached apart
    whole = auth.installation_token(inst)
    assert whole != token and _get(sandbox, whole, f"/repos/{OTHER}/contents/README.md") == 200
    assert auth.installation_token(inst, (APP,), RECONCILE_PERMISSIONS) == token
    assert posts(sandbox, f"/app/installations/{inst}/access_tokens") == 2


def test_read_only_permissions_cannot_write(sandbox: Sandbox) -> None:
    _repos(sandbox)
    auth, _ = app_auth(sandbox)
    [inst] = auth.installations()
    token = auth.installation_token(inst, (APP,), {"contents": "read", "metadata": "read"})
    head = sandbox.git.out(APP, "rev-parse", "refs/heads/main").strip()
    response = httpx.post(
        f"{sandbox.base_url}/repos/{APP}/git/refs",
        headers={"Authorization": f"token {token}"},
        json={"ref": "refs/heads/sneaky", "sha": head},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["message"] == "Resource not accessible by integration"


def test_asking_beyond_the_grant_is_refused_and_auth_caps_its_request(sandbox: Sandbox) -> None:
    _repos(sandbox)
    auth, _ = app_auth(sandbox)
    [inst] = auth.installations()
    raw = httpx.post(
        f"{sandbox.base_url}/app/installations/{inst}/access_tokens",
        headers={"Authorization": f"Bearer {auth.jwt()}"},
        json={"repositories": ["app"], "permissions": {"administration": "write"}},
        timeout=10,
    )
    assert raw.status_code == 422
    with pytest.raises(ExternalError) as failed:
        auth.installation_token(inst, ("acme/not-installed",), RECONCILE_PERMISSIONS)
    assert failed.value.status == 422
    # a permission the installation lacks is left out of the request, not refused
    capped = auth.installation_token(inst, (APP,), {**RECONCILE_PERMISSIONS, "actions": "write"})
    assert _get(sandbox, capped, f"/repos/{APP}") == 200


def test_the_reconcile_token_covers_exactly_the_repositories_involved(sandbox: Sandbox) -> None:
    _repos(sandbox)
    auth, _ = app_auth(sandbox)
    [inst] = auth.installations()

    def read_config(token: str) -> Any:
        from bot.adapters.github import GitHubClient

        with GitHubClient(APP, token, api_url=sandbox.base_url) as client:
            return load_repo_config(client, repo=APP)

    nobody = operator_policy(())
    alone = reconcile_token(auth, inst, APP, nobody, read_config)
    assert _get(sandbox, alone, f"/repos/{GITOPS}/contents/.github/release-train.yml") == 404
    allowed = operator_policy(parse_operator_pairs(f"{APP}->{GITOPS}"))
    both = reconcile_token(auth, inst, APP, allowed, read_config)
    assert _get(sandbox, both, f"/repos/{GITOPS}/contents/.github/release-train.yml") == 200
    assert _get(sandbox, both, f"/repos/{OTHER}/contents/README.md") == 404


def test_the_operators_allowlist_comes_from_the_environment(private_key_pem: str) -> None:
    from transports.test_settings import env

    from bot.errors import ConfigError
    from bot.transports.settings import settings_from_env

    pairs = settings_from_env(env(private_key_pem, CROSS_REPO_WRITES="acme/app->acme/gitops"))
    allows = operator_policy(pairs.cross_repo_writes)
    assert allows("Acme/App", "acme/gitops") and not allows("acme/app", "acme/payroll")
    assert settings_from_env(env(private_key_pem)).cross_repo_writes == ()
    with pytest.raises(ConfigError, match="CROSS_REPO_WRITES: 'acme/app' is not source->target"):
        settings_from_env(env(private_key_pem, CROSS_REPO_WRITES="acme/app"))
