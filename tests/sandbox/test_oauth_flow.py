"""The sandbox's OAuth web flow for a GitHub App, over HTTP: authorize -> code -> token,
then the user-to-server endpoints that say which installations and repositories a user reaches."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.sandbox import appauth
from bot.sandbox.api.oauth import client_secret
from bot.sandbox.runner import Sandbox
from bot.sandbox.scenario import BOT_INSTALLATION

CALLBACK = "http://127.0.0.1:9/login/callback"  # never requested: only read back


@pytest.fixture
def world(sandbox: Sandbox) -> Sandbox:
    sandbox.scenario.create_repo("acme/secret", {"README.md": "hush\n"}, private=True)
    sandbox.store.add_user("mallory")
    return sandbox


def _code(sb: Sandbox, login: str, state: str = "s1") -> str:
    client_id = appauth.ensure_app(sb.store)["client_id"]
    params = {"client_id": client_id, "redirect_uri": CALLBACK, "state": state, "login": login}
    answer = httpx.get(f"{sb.base_url}/login/oauth/authorize", params=params)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert location.path == "/login/callback"
    query = parse_qs(location.query)
    assert query["state"] == [state]
    return query["code"][0]


def _exchange(sb: Sandbox, code: str, secret: str | None = None) -> dict[str, str]:
    form = {
        "client_id": appauth.ensure_app(sb.store)["client_id"],
        "client_secret": secret if secret is not None else client_secret(sb.store),
        "code": code,
        "redirect_uri": CALLBACK,
    }
    answer = httpx.post(
        f"{sb.base_url}/login/oauth/access_token", data=form, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200
    body: dict[str, str] = answer.json()
    return body


def _get(sb: Sandbox, token: str, path: str) -> httpx.Response:
    return httpx.get(f"{sb.base_url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_a_code_becomes_a_user_token_once(world: Sandbox) -> None:
    code = _code(world, "reader-erin")
    body = _exchange(world, code)
    assert body["token_type"] == "bearer" and body["access_token"].startswith("ghu_")
    assert _get(world, body["access_token"], "/user").json()["login"] == "reader-erin"
    replayed = _exchange(world, code)
    assert replayed["error"] == "bad_verification_code" and "access_token" not in replayed


def test_wrong_client_secret_is_refused(world: Sandbox) -> None:
    body = _exchange(world, _code(world, "reader-erin"), secret="not-it")
    assert body["error"] == "incorrect_client_credentials"


def test_form_encoded_answer_without_accept_json(world: Sandbox) -> None:
    form = {
        "client_id": appauth.ensure_app(world.store)["client_id"],
        "client_secret": client_secret(world.store),
        "code": _code(world, "dev-alice"),
    }
    answer = httpx.post(f"{world.base_url}/login/oauth/access_token", data=form)
    assert parse_qs(answer.text)["access_token"][0].startswith("ghu_")


def test_without_a_chosen_user_the_page_lists_users(world: Sandbox) -> None:
    client_id = appauth.ensure_app(world.store)["client_id"]
    answer = httpx.get(
        f"{world.base_url}/login/oauth/authorize",
        params={"client_id": client_id, "redirect_uri": CALLBACK},
    )
    assert answer.status_code == 200 and "text/html" in answer.headers["content-type"]
    assert "login=reader-erin" in answer.text


def test_a_reader_reaches_the_private_repository(world: Sandbox) -> None:
    token = _exchange(world, _code(world, "reader-erin"))["access_token"]
    installations = _get(world, token, "/user/installations").json()
    assert [i["id"] for i in installations["installations"]] == [BOT_INSTALLATION]
    path = f"/user/installations/{BOT_INSTALLATION}/repositories"
    repos = {
        r["full_name"]: r["permissions"] for r in _get(world, token, path).json()["repositories"]
    }
    assert repos["acme/secret"]["pull"] and not repos["acme/secret"]["push"]


def test_a_stranger_does_not_see_the_private_repository(world: Sandbox) -> None:
    token = _exchange(world, _code(world, "mallory"))["access_token"]
    path = f"/user/installations/{BOT_INSTALLATION}/repositories"
    answer = _get(world, token, path)
    names = [r["full_name"] for r in answer.json().get("repositories", [])]
    assert "acme/secret" not in names


def test_a_personal_token_cannot_list_user_installations(world: Sandbox) -> None:
    answer = _get(world, world.token("reader-erin"), "/user/installations")
    assert answer.status_code == 403
