"""The dashboard as `serve` mounts it: ``/`` behind GitHub sign-in, plus ``/login``,
``/login/callback`` and ``/logout``.

Without sign-in configured (no client secret) the page is served only to loopback callers
that no proxy forwarded; anyone else is told how to turn sign-in on. With it, a visitor
without a valid session cookie is sent to sign in; a signed-in user sees the repository's
trains only when GitHub lists that repository among the App's installation repositories the
user can read (asked with the user's token, cached for `access_ttl` seconds); a token GitHub
no longer accepts signs the user out. Every refusal is a plain page; no token is logged.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bot.adapters.github_user import GitHubUserApi
from bot.errors import CheckFailed, ExternalError
from bot.insights.dashboard import Source, page_response
from bot.insights.model import History
from bot.insights.page import DashboardInput, message_page, render_page
from bot.transports.access import is_local
from bot.transports.signin import (
    HOW_TO_ENABLE,
    SESSION_COOKIE,
    STATE_COOKIE,
    STATE_TTL,
    Session,
    SigninSettings,
    read_session,
    safe_next,
    seal,
    session_cookie,
    unseal,
)

LOG = logging.getLogger("release_train.signin")
CALLBACK = "/login/callback"
Clock = Callable[[], datetime]


class AccessCache:
    """Which repositories a user token reads, asked at most every `ttl` seconds per token
    (keyed by the token's hash; at most `size` entries)."""

    def __init__(self, api: GitHubUserApi, clock: Clock, ttl: float, size: int = 1000) -> None:
        self.api, self.clock, self.ttl, self.size = api, clock, ttl, size
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[datetime, frozenset[str]]] = {}

    def readable(self, token: str) -> frozenset[str]:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        with self._lock:
            hit = self._seen.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        repos = self.api.readable_repos(token)  # ExternalError(status=401): revoked
        with self._lock:
            if len(self._seen) >= self.size:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = (now + timedelta(seconds=self.ttl), repos)
        return repos


def _set_cookie(response: Any, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, secure=True, httponly=True, samesite="Lax", path="/"
    )


def _signed_out(response: Any) -> Any:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
    return response


def _refused(title: str, text: str, status: int = 400) -> Any:
    return page_response(message_page(title, text, ("/login", "Sign in again")), status)


def signin_blueprint(
    source: Source, config: SigninSettings | None, clock: Clock, api: GitHubUserApi | None = None
) -> Any:
    """The dashboard routes (see the module); `config` None: loopback-only, no sign-in."""
    from flask import Blueprint, redirect, request

    blueprint = Blueprint("dashboard", __name__)
    if config is None:

        @blueprint.get("/")
        def local_only() -> Any:
            if is_local(request.remote_addr, dict(request.headers)):
                return page_response(render_page(source()))
            text = f"The dashboard is off on this listener. {HOW_TO_ENABLE}"
            return page_response(message_page("Sign-in is not set up", text), 403)

        return blueprint

    api = api or GitHubUserApi(
        config.web_url, config.api_url, config.client_id, config.client_secret
    )
    access = AccessCache(api, clock, config.access_ttl)

    def callback_url() -> str:
        return (config.public_url or request.host_url.rstrip("/")) + CALLBACK

    @blueprint.get("/")
    def index() -> Any:
        session = read_session(config, request.cookies.get(SESSION_COOKIE), clock())
        if session is None:
            answer = redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
            return _signed_out(answer) if SESSION_COOKIE in request.cookies else answer
        return _dashboard_for(session)

    def _dashboard_for(session: Session) -> Any:
        try:
            readable = access.readable(session.token)
        except ExternalError as exc:
            if exc.status == 401:
                text = "GitHub no longer accepts your sign-in (revoked or expired)."
                return _signed_out(_refused("Signed out", text, 401))
            LOG.warning("sign-in: access check failed", extra={"error": exc.message})
            return _refused("Try again", "GitHub could not be asked who may read this.", 503)
        if config.repo and config.repo.lower() in readable:
            return page_response(render_page(replace(source(), viewer=session.login)))
        note = "Nothing to show: your GitHub account cannot read the repository shown here."
        empty = DashboardInput(History(), clock(), None, note, viewer=session.login)
        return page_response(render_page(empty), 403)

    @blueprint.get("/login")
    def login() -> Any:
        state = secrets.token_urlsafe(24)
        target = safe_next(request.args.get("next"))
        query = {"client_id": config.client_id, "redirect_uri": callback_url(), "state": state}
        answer = redirect(f"{config.web_url}/login/oauth/authorize?{urlencode(query)}")
        cookie = seal(config.session_key, "state", {"s": state, "n": target}, clock())
        _set_cookie(answer, STATE_COOKIE, cookie, STATE_TTL)
        return answer

    @blueprint.get(CALLBACK)
    def callback() -> Any:
        pending = unseal(
            config.session_key, "state", request.cookies.get(STATE_COOKIE), STATE_TTL, clock()
        )
        given = request.args.get("state", "")
        if not pending or not secrets.compare_digest(pending.get("s", ""), given):
            text = "This sign-in did not start here, or took too long (state mismatch)."
            return _refused("Sign-in refused", text)
        code = request.args.get("code", "")
        if not code:
            return _refused("Sign-in refused", "GitHub sent no code (access denied?).")
        try:
            token = api.exchange(code, callback_url())
            login_name = api.login(token)
        except CheckFailed as exc:
            return _refused("Sign-in refused", exc.message)
        except ExternalError:
            return _refused("Try again", "GitHub could not be reached to finish signing in.", 503)
        answer = redirect(safe_next(pending.get("n")))
        value = session_cookie(config, Session(login_name, token), clock())
        _set_cookie(answer, SESSION_COOKIE, value, config.session_ttl)
        answer.delete_cookie(STATE_COOKIE, path="/", secure=True, httponly=True, samesite="Lax")
        LOG.info("signed in", extra={"user": login_name})
        return answer

    @blueprint.route("/logout", methods=["GET", "POST"])
    def logout() -> Any:
        return _signed_out(page_response(message_page("Signed out", "You are signed out.")))

    return blueprint
