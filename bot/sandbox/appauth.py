"""The sandbox's GitHub App: its identity, RSA key pair and JWT checking.

The App (slug ``release-train``, acting as ``release-train[bot]``) is created on first use
and kept in the store under ``extra["app"]``, private key included, so a restarted sandbox
accepts the same key. `private_key_pem(store)` hands the key to the bot (as GitHub hands a
downloaded ``.pem``). `verify_app_jwt` checks an ``Authorization: Bearer <JWT>`` the way
GitHub does: RS256 over the App's public key, ``iss`` = the App id (or its client id),
``iat`` not in the future (60 s drift allowed) and ``exp`` at most 10 minutes ahead.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.sandbox.http import ApiError
from bot.sandbox.scenario import APP_ID, BOT_LOGIN
from bot.sandbox.store import Store

APP_SLUG = "release-train"
APP_NAME = "Release Train"
TOKEN_LIFETIME = timedelta(hours=1)
MAX_JWT_LIFETIME_S = 600
CLOCK_DRIFT_S = 60
DEFAULT_PERMISSIONS = {
    "checks": "write",
    "contents": "write",
    "deployments": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "security_events": "read",
    "statuses": "write",
    "members": "read",
}
DEFAULT_EVENTS = [
    "check_run",
    "check_suite",
    "deployment_status",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "push",
]


def _generate_key_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def ensure_app(store: Store, *, owner: str | None = None) -> dict[str, Any]:
    """The App record (created with a fresh key pair, and its bot user, on first call)."""
    with store.transaction() as data:
        app = data["extra"].get("app")
        if app is not None:
            return dict(app)
        bot = store.add_user(BOT_LOGIN, type="Bot", name=APP_NAME)
        private, public = _generate_key_pair()
        app = {
            "id": APP_ID,
            "slug": APP_SLUG,
            "name": APP_NAME,
            "client_id": f"Iv1.sandbox{APP_ID:06d}",
            "owner": owner,
            "bot_login": bot["login"],
            "private_key_pem": private,
            "public_key_pem": public,
            "permissions": dict(DEFAULT_PERMISSIONS),
            "events": list(DEFAULT_EVENTS),
            "created_at": "2024-01-01T00:00:00Z",
        }
        data["extra"]["app"] = app
        return dict(app)


def private_key_pem(store: Store) -> str:
    """The App's private key, PEM, for the bot's ``AppAuthStrategy``."""
    return str(ensure_app(store)["private_key_pem"])


def write_private_key(store: Store, path: Path) -> Path:
    """Save the App's private key (mode 0600), as GitHub's downloaded ``.pem``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(private_key_pem(store))
    return path


def app_id(store: Store) -> int:
    return int(ensure_app(store)["id"])


def verify_app_jwt(store: Store, token: str | None, now: datetime) -> dict[str, Any]:
    """The App a valid JWT speaks for; otherwise 401 as GitHub answers."""
    import jwt

    if not token or token.count(".") != 2:
        raise ApiError(401, "A JSON web token could not be decoded")
    app = ensure_app(store)
    try:
        claims = jwt.decode(
            token,
            app["public_key_pem"],
            algorithms=["RS256"],
            options={"require": ["iat", "exp", "iss"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        raise ApiError(401, "A JSON web token could not be decoded") from None
    check_claims(claims, app, now)
    return app


def check_claims(claims: dict[str, Any], app: dict[str, Any], now: datetime) -> None:
    """GitHub's rules on ``iss``/``iat``/``exp`` (pure; raises ApiError 401)."""
    instant = now.timestamp()
    if str(claims.get("iss")) not in (str(app["id"]), str(app["client_id"])):
        raise ApiError(401, "A JSON web token could not be decoded")
    try:
        issued, expires = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(401, "A JSON web token could not be decoded") from None
    if issued > instant + CLOCK_DRIFT_S:
        raise ApiError(
            401, "'Issued at' claim ('iat') must be an Integer representing a time in the past."
        )
    if expires <= instant:
        raise ApiError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires.",
        )
    if expires - max(issued, instant - CLOCK_DRIFT_S) > MAX_JWT_LIFETIME_S + CLOCK_DRIFT_S:
        raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")


def make_jwt(store: Store, now: datetime, *, lifetime_s: int = 540) -> str:
    """A JWT for the App as a client would make it (for tests and the demo)."""
    import jwt

    issued = int(now.timestamp()) - 30
    claims = {"iss": str(app_id(store)), "iat": issued, "exp": issued + lifetime_s}
    return str(jwt.encode(claims, private_key_pem(store), algorithm="RS256"))


def mint_installation_token(
    store: Store,
    installation_id: int,
    now: datetime,
    *,
    repositories: list[str] | None = None,
    permissions: dict[str, str] | None = None,
) -> tuple[str, str]:
    """A new installation token acting as the App's bot: ``(token, expires_at)``; with
    `repositories` (full names) / `permissions` it reaches only those."""
    expires = (now.astimezone(UTC) + TOKEN_LIFETIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    token = store.add_token(
        BOT_LOGIN,
        installation_id=installation_id,
        expires_at=expires,
        repositories=repositories,
        permissions=permissions,
    )
    return token, expires


def token_expired(expires_at: str | None, now: datetime) -> bool:
    if not expires_at:
        return False
    when = datetime.strptime(expires_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return when <= now


def covered_repos(store: Store, inst: dict[str, Any]) -> list[str]:
    """Full names of the repositories an installation can reach."""
    listed = inst.get("repositories")
    repos = store.data["repos"]
    if listed is None:
        return [name for name, r in repos.items() if r["owner"] == inst.get("account")]
    return [name for name in listed if name in repos]
