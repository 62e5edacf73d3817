"""Dashboard sign-in with GitHub: its settings and the two cookies (pure, `now` passed in).

The dashboard signs people in with the App's user authorization (the OAuth web flow of a
GitHub App). Two cookies carry the state, both Fernet tokens (AES + HMAC-SHA256, with their
issue time) under a key derived from ``SESSION_KEY``, so they are signed, unreadable to the
browser's owner as well as to anyone else, and expire:

- ``rt_oauth`` (10 minutes): the ``state`` sent to GitHub and the local page to return to;
- ``rt_session`` (``SESSION_TTL``, default 1 hour): the user's login and user token.

A cookie that does not decrypt, is older than its lifetime or dated in the future is no
cookie: the visitor is signed out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.errors import Problem

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SESSION_COOKIE = "rt_session"
STATE_COOKIE = "rt_oauth"
STATE_TTL = 600
DEFAULT_SESSION_TTL = 3600
MIN_KEY_LENGTH = 32
WHERE = "environment"
HOW_TO_ENABLE = (
    "Set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the App's client id and a client secret "
    "from its settings page), and SESSION_KEY (32 or more random characters), then restart "
    "`release-train serve`."
)


@dataclass(frozen=True)
class SigninSettings:
    client_id: str
    client_secret: str = field(repr=False)
    session_key: str = field(repr=False)
    web_url: str = "https://github.com"  # where /login/oauth/... lives
    api_url: str = "https://api.github.com"
    repo: str = ""  # OWNER/NAME the dashboard shows ("": unknown, nobody sees it)
    public_url: str = ""  # this server's external URL, for the callback ("": the request's)
    session_ttl: int = DEFAULT_SESSION_TTL
    access_ttl: float = 60.0  # how long "which repositories may this user read" is cached

    def secrets(self) -> tuple[str, ...]:
        return (self.client_secret, self.session_key)


@dataclass(frozen=True)
class Session:
    login: str
    token: str = field(repr=False)


def web_url_for(api_url: str) -> str:
    """GitHub's web host for an API URL: api.github.com -> github.com, HOST/api/v3 -> HOST."""
    if api_url.rstrip("/") == "https://api.github.com":
        return "https://github.com"
    return re.sub(r"/api/v3/?$", "", api_url.rstrip("/"))


def _repo_name(env: Mapping[str, str]) -> str:
    where = env.get("RELEASE_TRAIN_DASHBOARD_REPO", "").strip()
    shaped = re.fullmatch(r"[\w.-]+/[\w.-]+", where) and not where.startswith(".")
    return (where if shaped else "") or env.get("RELEASE_TRAIN_DASHBOARD_NAME", "").strip()


def signin_from_env(
    env: Mapping[str, str], api_url: str, problems: list[Problem]
) -> SigninSettings | None:
    """The sign-in settings, or None when the client secret is not set (dashboard off on
    the public listener). A half-done setup is a problem naming what is missing."""
    client_id = env.get("GITHUB_CLIENT_ID", "").strip()
    secret = env.get("GITHUB_CLIENT_SECRET", "").strip()
    key = env.get("SESSION_KEY", "").strip()
    if not secret:
        if client_id or key:
            problems.append(Problem("GITHUB_CLIENT_SECRET must be set for sign-in", file=WHERE))
        return None
    if not client_id:
        problems.append(Problem("GITHUB_CLIENT_ID must be set with the secret", file=WHERE))
    if len(key) < MIN_KEY_LENGTH:
        problems.append(
            Problem(f"SESSION_KEY must be {MIN_KEY_LENGTH} or more random characters", file=WHERE)
        )
    ttl = env.get("SESSION_TTL", "").strip() or str(DEFAULT_SESSION_TTL)
    if not ttl.isdigit() or not 60 <= int(ttl) <= 86400:
        problems.append(Problem(f"SESSION_TTL: {ttl!r} is not 60 to 86400 seconds", file=WHERE))
        ttl = str(DEFAULT_SESSION_TTL)
    web = env.get("GITHUB_SERVER_URL", "").strip().rstrip("/") or web_url_for(api_url)
    return SigninSettings(
        client_id=client_id,
        client_secret=secret,
        session_key=key,
        web_url=web,
        api_url=api_url,
        repo=_repo_name(env),
        public_url=env.get("RELEASE_TRAIN_PUBLIC_URL", "").strip().rstrip("/"),
        session_ttl=int(ttl),
    )


def _fernet(key: str, purpose: str) -> Fernet:
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(f"release-train {purpose}\0{key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(key: str, purpose: str, value: dict[str, str], now: datetime) -> str:
    """`value` as a cookie string: encrypted, authenticated and dated `now`."""
    sealed = _fernet(key, purpose).encrypt_at_time(json.dumps(value).encode(), int(now.timestamp()))
    return sealed.decode()


def unseal(key: str, purpose: str, cookie: str | None, ttl: int, now: datetime) -> dict[str, str]:
    """The value of a cookie `seal` made at most `ttl` seconds before `now`; {} otherwise."""
    from cryptography.fernet import InvalidToken

    if not cookie or len(cookie) > 4096:
        return {}
    try:
        raw = _fernet(key, purpose).decrypt_at_time(cookie.encode(), ttl, int(now.timestamp()))
        value = json.loads(raw)
    except (InvalidToken, ValueError, UnicodeError):
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return {}
    return value


def session_cookie(config: SigninSettings, session: Session, now: datetime) -> str:
    return seal(config.session_key, "session", {"l": session.login, "t": session.token}, now)


def read_session(config: SigninSettings, cookie: str | None, now: datetime) -> Session | None:
    value = unseal(config.session_key, "session", cookie, config.session_ttl, now)
    if not value.get("l") or not value.get("t"):
        return None
    return Session(value["l"], value["t"])


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else "/" (no open redirect): it must start
    with one "/", carry no scheme or host, no backslash and no control character."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target
