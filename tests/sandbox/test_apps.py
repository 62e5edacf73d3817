"""GitHub App auth: JWT checked against the App's public key; installation tokens act as the bot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestFailed

from bot.sandbox import appauth
from bot.sandbox.http import ApiError
from bot.sandbox.runner import Sandbox
from bot.sandbox.scenario import APP_ID, BOT_INSTALLATION


def app_client(sb: Sandbox, key: str | None = None, **kw: Any) -> GitHub[Any]:
    auth = AppAuthStrategy(str(APP_ID), key or appauth.private_key_pem(sb.store))
    # A fresh cache: githubkit's default cache is shared by every client in the process.
    return GitHub(auth, base_url=sb.base_url, auto_retry=False,
                  cache_strategy=MemCacheStrategy(), **kw)  # fmt: skip


def test_good_jwt_reads_the_app_and_its_installations(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    with app_client(sandbox) as gh:
        app = gh.rest.apps.get_authenticated().json()
        assert (app["id"], app["slug"]) == (APP_ID, "release-train")
        installations = gh.rest.apps.list_installations().json()
        assert [i["id"] for i in installations] == [BOT_INSTALLATION]
        found = gh.rest.apps.get_repo_installation("acme", "shop").json()
        assert found["id"] == BOT_INSTALLATION and found["account"]["login"] == "acme"


def test_installation_token_works_as_the_bot(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    key = appauth.private_key_pem(sandbox.store)
    auth = AppInstallationAuthStrategy(str(APP_ID), key, BOT_INSTALLATION)
    with GitHub(auth, base_url=sandbox.base_url, auto_retry=False,
                cache_strategy=MemCacheStrategy()) as gh:  # fmt: skip
        issue = gh.rest.issues.create("acme", "shop", title="From the App").json()
        assert issue["user"]["login"] == "release-train[bot]"
        assert issue["user"]["type"] == "Bot"
        listed = gh.rest.apps.list_repos_accessible_to_installation().json()
        assert "acme/shop" in [r["full_name"] for r in listed["repositories"]]
    posts = [(m, p, s) for m, p, s, _ in sandbox.server.request_log if m == "POST"]
    assert posts[0] == ("POST", f"/app/installations/{BOT_INSTALLATION}/access_tokens", 201)


def test_a_jwt_signed_with_another_key_is_401(sandbox: Sandbox) -> None:
    other, _ = appauth._generate_key_pair()
    with app_client(sandbox, other) as gh, pytest.raises(RequestFailed) as failed:
        gh.rest.apps.get_authenticated()
    assert failed.value.response.status_code == 401
    assert "could not be decoded" in failed.value.response.json()["message"]


def test_a_user_token_cannot_call_app_endpoints(sandbox: Sandbox) -> None:
    gh = GitHub(sandbox.token("dev-alice"), base_url=sandbox.base_url, auto_retry=False)
    with gh, pytest.raises(RequestFailed) as failed:
        gh.rest.apps.list_installations()
    assert failed.value.response.status_code == 401


def test_expiry_rules() -> None:
    app = {"id": APP_ID, "client_id": "Iv1.x"}
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    t = int(now.timestamp())
    appauth.check_claims({"iss": str(APP_ID), "iat": t - 60, "exp": t + 540}, app, now)
    appauth.check_claims({"iss": "Iv1.x", "iat": t - 60, "exp": t + 540}, app, now)
    for claims in (
        {"iss": "999", "iat": t - 60, "exp": t + 540},
        {"iss": str(APP_ID), "iat": t - 700, "exp": t - 1},
        {"iss": str(APP_ID), "iat": t, "exp": t + 3600},
        {"iss": str(APP_ID), "iat": t + 600, "exp": t + 900},
    ):
        with pytest.raises(ApiError) as failed:
            appauth.check_claims(claims, app, now)
        assert failed.value.status == 401, claims


def test_an_expired_jwt_over_http_is_401(sandbox: Sandbox) -> None:
    now = int(datetime.now(UTC).timestamp())
    token = jwt.encode({"iss": str(APP_ID), "iat": now - 1200, "exp": now - 600},
                       appauth.private_key_pem(sandbox.store), algorithm="RS256")  # fmt: skip
    gh = GitHub(token, base_url=sandbox.base_url, auto_retry=False)
    with gh, pytest.raises(RequestFailed) as failed:
        gh.rest.apps.get_authenticated()
    assert failed.value.response.status_code == 401


def test_the_key_survives_a_restart(tmp_path: Any) -> None:
    from bot.sandbox.runner import run_sandbox

    with run_sandbox(tmp_path / "s", durable=False) as first:
        key = appauth.private_key_pem(first.store)
    with run_sandbox(tmp_path / "s", durable=False) as again:
        assert appauth.private_key_pem(again.store) == key
        with app_client(again, key) as gh:
            assert gh.rest.apps.get_authenticated().json()["id"] == APP_ID


def test_the_private_key_can_be_saved_like_a_downloaded_pem(
    sandbox: Sandbox, tmp_path: Any
) -> None:
    path = appauth.write_private_key(sandbox.store, tmp_path / "keys" / "app.pem")
    assert path.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert path.stat().st_mode & 0o777 == 0o600
    with app_client(sandbox, path.read_text()) as gh:
        assert gh.rest.apps.get_authenticated().json()["slug"] == "release-train"


def test_the_bots_own_app_auth_works_against_the_sandbox(sandbox: Sandbox) -> None:
    from bot.transports.auth import AppAuth

    sandbox.scenario.demo()
    minted: list[str] = []
    auth = AppAuth(str(APP_ID), appauth.private_key_pem(sandbox.store), sandbox.base_url,
                   on_token=minted.append)  # fmt: skip
    assert auth.app_slug() == "release-train"
    assert auth.installations() == [BOT_INSTALLATION]
    token = auth.installation_token(BOT_INSTALLATION)
    assert auth.installation_token(BOT_INSTALLATION) == token  # cached
    assert "acme/shop" in auth.repositories(BOT_INSTALLATION)
    assert token in minted
    record = sandbox.store.get("tokens", token)
    assert record is not None and record["login"] == "release-train[bot]"
    assert auth.installation_for("acme/shop") == BOT_INSTALLATION
    assert auth.rate_limit_remaining(BOT_INSTALLATION) is not None


def _get(sb: Sandbox, path: str, token: str) -> tuple[int, dict[str, Any]]:
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(sb.base_url + path)
    req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_jwt_outside_the_app_endpoints_is_401_like_github(sandbox: Sandbox) -> None:
    sandbox.scenario.demo()
    good = appauth.make_jwt(sandbox.store, datetime.now(UTC))
    for path in ("/repos/acme/shop", "/repos/acme/shop/pulls", "/installation/repositories"):
        status, body = _get(sandbox, path, good)
        assert (status, body["message"]) == (401, "A JSON web token could not be decoded"), path
    assert _get(sandbox, "/repos/acme/shop/installation", good)[0] == 200
    assert _get(sandbox, "/app", good)[0] == 200
    assert _get(sandbox, "/rate_limit", good)[0] == 200
    now = int(datetime.now(UTC).timestamp())
    expired = jwt.encode({"iss": str(APP_ID), "iat": now - 1200, "exp": now - 600},
                         appauth.private_key_pem(sandbox.store), algorithm="RS256")  # fmt: skip
    status, body = _get(sandbox, "/repos/acme/shop", expired)
    assert status == 401 and body["message"].startswith("'Expiration time' claim ('exp')")
    assert _get(sandbox, "/repos/acme/shop", "not.a.jwt")[0] == 401
