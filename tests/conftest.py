"""Shared fixtures. `sandbox` is a fresh local GitHub (bot.sandbox) per test, on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.runner import Sandbox, run_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A running sandbox over a fresh directory, with the standard users (no repositories).

    Use `sandbox.scenario.demo()` for the demo repository ``acme/shop``,
    `sandbox.scenario.create_repo(...)` for your own, `sandbox.token(login)` for a user's
    token, `sandbox.bot_token()` for the App's installation token and `sandbox.base_url`
    as the API base URL (githubkit: ``GitHub(TokenAuthStrategy(t), base_url=url + "/")``).
    """
    with run_sandbox(tmp_path / "sandbox", durable=False) as sb:
        yield sb


@dataclass(frozen=True)
class ApiResult:
    status: int
    json: Any
    headers: dict[str, str]


@dataclass
class Api:
    """Calls the sandbox through githubkit as a user; answers status, JSON and headers
    (errors included, so tests can assert on GitHub's error bodies)."""

    sandbox: Sandbox
    clients: dict[str, Any] = field(default_factory=dict)
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def client(self, login: str) -> Any:
        from githubkit import GitHub, TokenAuthStrategy

        if login not in self.clients:
            token = (
                self.sandbox.bot_token() if login.endswith("[bot]") else self.sandbox.token(login)
            )
            self.clients[login] = self.stack.enter_context(
                GitHub(
                    TokenAuthStrategy(token),
                    base_url=self.sandbox.base_url + "/",
                    auto_retry=False,
                    http_cache=False,
                )
            )
        return self.clients[login]

    def __call__(
        self, login: str, method: str, path: str, json: Any = None, **kwargs: Any
    ) -> ApiResult:
        from githubkit.exception import RequestFailed

        gh = self.client(login)
        try:
            resp = gh.request(method, path, json=json, **kwargs)
        except RequestFailed as exc:
            resp = exc.response
        raw = resp.raw_response
        if not raw.content:
            body = None
        elif "json" in raw.headers.get("content-type", ""):
            body = raw.json()
        else:
            body = raw.content
        return ApiResult(raw.status_code, body, dict(raw.headers))

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    """`api(login, method, path, json=...)` -> ApiResult, through githubkit."""
    helper = Api(sandbox)
    yield helper
    helper.close()
