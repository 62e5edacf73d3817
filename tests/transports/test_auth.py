"""App JWT → installation tokens against the sandbox's App endpoints, over HTTP."""

from __future__ import annotations

import jwt
import pytest

from bot.errors import ExternalError
from bot.sandbox import appauth
from bot.sandbox.runner import Sandbox
from bot.transports.auth import AppAuth, CachedToken, make_jwt, parse_expiry


def app_auth(sandbox: Sandbox, *, clock: float | None = None) -> tuple[AppAuth, list[str]]:
    minted: list[str] = []
    auth = AppAuth(
        str(appauth.app_id(sandbox.store)),
        appauth.private_key_pem(sandbox.store),
        sandbox.base_url,
        on_token=minted.append,
        **({"clock": lambda: clock} if clock is not None else {}),
    )
    return auth, minted


def posts(sandbox: Sandbox, suffix: str) -> int:
    return sum(1 for m, p, *_ in sandbox.server.request_log if m == "POST" and p.endswith(suffix))


def test_jwt_claims(private_key_pem: str) -> None:
    from cryptography.hazmat.primitives import serialization

    token = make_jwt("4242", private_key_pem, 1_000_000.0)
    public = serialization.load_pem_private_key(private_key_pem.encode(), None).public_key()
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_exp": False})  # type: ignore[arg-type]
    assert claims == {"iss": "4242", "iat": 1_000_000 - 60, "exp": 1_000_000 + 540}


def test_cached_token_freshness() -> None:
    expires = parse_expiry("2026-03-02T15:00:00Z")
    token = CachedToken("t", expires)
    assert token.fresh(expires - 301)
    assert not token.fresh(expires - 299)  # refreshed 5 minutes before expiry


def test_installation_token_is_minted_once_and_works(sandbox: Sandbox) -> None:
    repo = "acme/widgets"
    sandbox.scenario.create_repo(repo, {".github/release-train.yml": "trains: []\n"})
    auth, minted = app_auth(sandbox)
    [inst] = auth.installations()
    first = auth.installation_token(inst)
    assert auth.installation_token(inst) == first
    assert posts(sandbox, f"/app/installations/{inst}/access_tokens") == 1
    assert first in minted  # handed to the log redactor
    assert repo in auth.repositories(inst)
    assert auth.installation_for(repo) == inst
    assert auth.app_slug() == "release-train"
    assert auth.has_file(repo, inst, ".github/release-train.yml")
    assert not auth.has_file(repo, inst, ".github/no-such-file.yml")


def test_token_is_refreshed_near_expiry(sandbox: Sandbox) -> None:
    import time
    from datetime import UTC, datetime

    now = [time.time()]
    sandbox.server.clock = lambda: datetime.fromtimestamp(now[0], UTC)  # one clock for both
    auth = AppAuth(
        str(appauth.app_id(sandbox.store)),
        appauth.private_key_pem(sandbox.store),
        sandbox.base_url,
        clock=lambda: now[0],
    )
    [inst] = auth.installations()
    auth.installation_token(inst)
    now[0] += 3600  # an hour later the cached token is past its refresh margin
    auth.installation_token(inst)
    assert posts(sandbox, f"/app/installations/{inst}/access_tokens") == 2


def test_a_wrong_key_is_an_external_error(sandbox: Sandbox, private_key_pem: str) -> None:
    auth = AppAuth(str(appauth.app_id(sandbox.store)), private_key_pem, sandbox.base_url)
    with pytest.raises(ExternalError) as info:
        auth.installations()
    assert info.value.status == 401
