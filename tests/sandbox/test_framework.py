from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from bot.sandbox.runner import Sandbox


def call(
    sb: Sandbox,
    method: str,
    path: str,
    body: object = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(sb.base_url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"token {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
            return resp.status, dict(resp.headers), json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        text = err.read()
        return err.code, dict(err.headers), json.loads(text) if text else None


def test_unknown_endpoint_is_404_in_githubs_shape_and_logged(sandbox: Sandbox) -> None:
    status, _, body = call(sandbox, "GET", "/no/such/thing")
    assert status == 404
    assert body["message"] == "Not Found"
    assert body["documentation_url"].startswith("https://docs.github.com")
    assert ("GET", "/no/such/thing") in sandbox.server.unknown_endpoints
    assert sandbox.server.request_log[-1][:3] == ("GET", "/no/such/thing", 404)


def test_get_user_with_token(sandbox: Sandbox) -> None:
    status, headers, body = call(sandbox, "GET", "/user", token=sandbox.token("dev-alice"))
    assert status == 200
    assert body["login"] == "dev-alice"
    assert headers["X-RateLimit-Limit"] == "5000"


def test_bad_token_is_401(sandbox: Sandbox) -> None:
    status, _, body = call(sandbox, "GET", "/user", token="nope")
    assert status == 401
    assert body["message"] == "Bad credentials"
