"""GitHub as a signed-in person sees it: the OAuth code exchange of a GitHub App, the user,
and the installation repositories the user can read (user-to-server token).

Errors: `CheckFailed` when GitHub refuses the code (replayed, expired, wrong client);
`ExternalError` with ``status=401`` when the user's token no longer works (revoked,
expired); `ExternalError` for anything else GitHub or the network does. Tokens are never
put in a message.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.errors import CheckFailed, ExternalError

MAX_PAGES = 10
PER_PAGE = 100


class GitHubUserApi:
    def __init__(
        self,
        web_url: str,
        api_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.web_url = web_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.timeout = timeout

    def exchange(self, code: str, redirect_uri: str) -> str:
        """The user token for a one-time `code`; `CheckFailed` when GitHub refuses it."""
        form = {
            "client_id": self.client_id,
            "client_secret": self._secret,
            "code": code,
            "redirect_uri": redirect_uri,
        }
        url = f"{self.web_url}/login/oauth/access_token"
        try:
            answer = httpx.post(
                url, data=form, headers={"Accept": "application/json"}, timeout=self.timeout
            )
            body = answer.json() if answer.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            raise ExternalError("GitHub", f"POST {url}: {type(exc).__name__}") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if isinstance(token, str) and token:
            return token
        error = body.get("error") if isinstance(body, dict) else None
        if error:
            raise CheckFailed(f"GitHub refused the sign-in code ({error})")
        raise ExternalError("GitHub", f"POST {url} answered {answer.status_code}")

    def _get(self, token: str, path: str, params: dict[str, Any] | None = None) -> Any:
        url = f"{self.api_url}{path}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        try:
            answer = httpx.get(url, headers=headers, params=params, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ExternalError("GitHub", f"GET {path}: {type(exc).__name__}") from None
        if answer.status_code == 401:
            raise ExternalError("GitHub", "the user's token is no longer valid", status=401)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise ExternalError("GitHub", f"GET {path} answered {answer.status_code}")
        try:
            return answer.json()
        except ValueError:
            raise ExternalError("GitHub", f"GET {path} answered no JSON") from None

    def login(self, token: str) -> str:
        user = self._get(token, "/user")
        if not isinstance(user, dict) or not isinstance(user.get("login"), str):
            raise ExternalError("GitHub", "GET /user answered no login")
        return str(user["login"])

    def _pages(self, token: str, path: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            body = self._get(token, path, {"per_page": PER_PAGE, "page": page})
            chunk = body.get(key, []) if isinstance(body, dict) else []
            items.extend(i for i in chunk if isinstance(i, dict))
            if len(chunk) < PER_PAGE:
                break
        return items

    def readable_repos(self, token: str) -> frozenset[str]:
        """Full names (lower case) of the App's installation repositories the user can
        read: ``GET /user/installations``, then each one's ``/repositories``."""
        names: set[str] = set()
        for inst in self._pages(token, "/user/installations", "installations"):
            path = f"/user/installations/{int(inst.get('id', 0))}/repositories"
            for repo in self._pages(token, path, "repositories"):
                if (repo.get("permissions") or {}).get("pull", True):
                    names.add(str(repo.get("full_name", "")).lower())
        return frozenset(n for n in names if n)
