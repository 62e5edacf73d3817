"""Argo CD's REST API (the Applications subset): read an Application's sync and health.

- ``GET /api/v1/applications/{name}`` (``?project=`` when configured, ``?refresh=normal``
  when asked) and ``GET /api/v1/applications?selector=...``: shapes from Argo CD's
  published description, vendored in ``schemas/argocd/applications.swagger.json``.
- The token is a bearer token from the operator's source (``token_env`` in the sources
  file, `bot.config.operator`); a `server` URL from the repository gets none. Every
  request goes through the outbound policy (`bot.adapters.guarded_http`).
- Answers become `bot.core.argocd_health.AppState`. 404 is an Application Argo CD does
  not know (`AppState.absent`); without `project`, Argo CD answers 403 for a missing
  Application too (it does not reveal which), and the message says so. Unreachable, a
  timeout or 5xx raise a retryable `ExternalError("argocd", ...)`; 401/403 raise one that
  names the credential. No retries or sleeps here: the caller reads again next round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from bot.config.model import ArgoCD
from bot.config.outbound import Endpoint, OutboundPolicy, OutboundRefused, choose_endpoint
from bot.core.argocd_health import AppState, Condition, ResourceHealth, Unobservable
from bot.errors import ExternalError

SYSTEM = "argocd"
TIMEOUT = 10.0  # seconds per request


class ArgoCDClient:
    """Reads Applications from one Argo CD server. Use in a ``with`` block."""

    def __init__(self, endpoint: Endpoint, policy: OutboundPolicy, *, timeout: float = TIMEOUT):
        from bot.adapters.guarded_http import GuardedClient

        self.endpoint = endpoint
        self.url = endpoint.url.rstrip("/")
        self.requests = 0
        self._http = GuardedClient(endpoint, policy, timeout=timeout)

    def __enter__(self) -> ArgoCDClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def application(self, name: str, *, project: str = "", refresh: bool = False) -> AppState:
        """One Application by name; `AppState.absent` when Argo CD answers 404."""
        params = {"project": project} if project else {}
        if refresh:
            params["refresh"] = "normal"
        path = f"/api/v1/applications/{quote(name, safe='')}"
        response = self._get(path, params)
        if response.status_code == 404:
            return AppState.absent(name, f"Argo CD has no Application {name!r}"
                                   + (f" in project {project!r}" if project else ""))  # fmt: skip
        body = self._json(response, f"Application {name!r}", project)
        return parse_application(body)

    def applications(
        self, selector: str, *, project: str = "", refresh: bool = False
    ) -> tuple[AppState, ...]:
        """Every Application the label selector matches (each re-read with ``refresh``)."""
        params = {"selector": selector, **({"projects": project} if project else {})}
        body = self._json(self._get("/api/v1/applications", params), "the Application list", "")
        items = body.get("items") or []
        if not isinstance(items, list):
            raise ExternalError(SYSTEM, "the Application list has no items list")
        apps = tuple(parse_application(item) for item in items if isinstance(item, dict))
        if refresh:
            apps = tuple(self.application(a.name, project=project, refresh=True) for a in apps)
        return apps

    def _get(self, path: str, params: Mapping[str, str]) -> httpx.Response:
        self.requests += 1
        try:
            response = self._http.request("GET", self.url + path, params=dict(params))
        except OutboundRefused:
            raise
        except httpx.TimeoutException as exc:
            raise ExternalError(SYSTEM, f"timed out at {self.url}: {exc or type(exc).__name__}",
                                retryable=True) from None  # fmt: skip
        except httpx.TransportError as exc:
            raise ExternalError(SYSTEM, f"unreachable at {self.url}: {exc or type(exc).__name__}",
                                retryable=True) from None  # fmt: skip
        if response.status_code >= 500 or response.status_code == 429:
            raise ExternalError(SYSTEM, f"HTTP {response.status_code} from {self.url}: "
                                f"{error_text(response)}", status=response.status_code,
                                retryable=True)  # fmt: skip
        return response

    def _json(self, response: httpx.Response, what: str, project: str) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise ExternalError(SYSTEM, self._refused(status, what, project, error_text(response)),
                                status=status)  # fmt: skip
        if status >= 400:
            raise ExternalError(SYSTEM, f"HTTP {status} reading {what}: {error_text(response)}",
                                status=status)  # fmt: skip
        try:
            body = response.json()
        except ValueError:
            raise ExternalError(SYSTEM, f"{what}: the answer is not JSON", status=status) from None
        if not isinstance(body, dict):
            raise ExternalError(SYSTEM, f"{what}: the answer is not a JSON object", status=status)
        return body

    def _refused(self, status: int, what: str, project: str, said: str) -> str:
        """401/403, naming the credential that was sent (or that none was)."""
        if self.endpoint.token:
            who = f"the token of {self.endpoint.label}"
        else:
            who = f"no token ({self.endpoint.label} carries none; only an operator's source does)"
        text = f"HTTP {status} reading {what} with {who}: {said}"
        if status == 403 and not project:
            text += (" (without argocd.project, Argo CD also answers 403 for an Application "
                     "that does not exist)")  # fmt: skip
        return text


def error_text(response: httpx.Response) -> str:
    """Argo CD's error body (``{"error", "code", "message"}``) in one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict) and (body.get("message") or body.get("error")):
        return str(body.get("message") or body.get("error"))[:300]
    return response.reason_phrase


def parse_application(body: Mapping[str, Any]) -> AppState:
    """An Application (``v1alpha1Application``) as the bot's `AppState`."""
    meta = _dict(body.get("metadata"))
    status = _dict(body.get("status"))
    sync, health = _dict(status.get("sync")), _dict(status.get("health"))
    revisions = tuple(str(r) for r in sync.get("revisions") or () if r) or (
        (str(sync["revision"]),) if sync.get("revision") else ()
    )
    conditions = tuple(
        Condition(str(c.get("type", "")), str(c.get("message", "")))
        for c in status.get("conditions") or ()
        if isinstance(c, dict)
    )
    return AppState(
        name=str(meta.get("name", "")),
        sync=str(sync.get("status") or "Unknown"),
        revisions=revisions,
        health=str(health.get("status") or "Unknown"),
        health_message=str(health.get("message") or ""),
        conditions=conditions,
        resources=tuple(_resource(r) for r in status.get("resources") or () if isinstance(r, dict)),
        operation_phase=str(_dict(status.get("operationState")).get("phase") or ""),
    )


def _resource(data: Mapping[str, Any]) -> ResourceHealth:
    health = _dict(data.get("health"))
    return ResourceHealth(
        kind=str(data.get("kind", "")),
        name=str(data.get("name", "")),
        namespace=str(data.get("namespace") or ""),
        sync=str(data.get("status") or ""),
        health=str(health.get("status") or ""),
        message=str(health.get("message") or ""),
    )


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def client_for(config: ArgoCD, policy: OutboundPolicy, *, timeout: float = TIMEOUT) -> ArgoCDClient:
    """A client for a stage's `argocd` settings under the operator's `policy`: the source it
    names (URL, token, TLS settings: the operator's), else its `server` (no credentials;
    refused in App mode unless the operator allows the host). `OutboundRefused` before
    anything is sent when the policy says no."""
    endpoint = choose_endpoint(
        "argocd", source=config.source, url=config.server, headers=(), policy=policy,
        verify=not config.insecure, url_key="server",
    )  # fmt: skip
    if endpoint is None:
        raise ExternalError(SYSTEM, "argocd: neither `source` nor `server` is set")
    return ArgoCDClient(endpoint, policy, timeout=timeout)


def read_applications(config: ArgoCD, client: ArgoCDClient) -> tuple[AppState, ...]:
    """The stage's Applications: each named one, or those the selector matches."""
    if config.selector:
        return client.applications(config.selector, project=config.project,
                                   refresh=config.refresh)  # fmt: skip
    return tuple(
        client.application(name, project=config.project, refresh=config.refresh)
        for name in config.applications
    )


def observe(
    config: ArgoCD, policy: OutboundPolicy, *, timeout: float = TIMEOUT
) -> tuple[AppState, ...] | Unobservable:
    """One reading of the stage's Applications for `bot.core.argocd_health.judge_health`:
    their states, or why Argo CD could not be read this time (unreachable, 5xx, the token
    refused, the target refused by the outbound policy): the stage then waits with that
    reason, and fails at its health timeout."""
    try:
        with client_for(config, policy, timeout=timeout) as client:
            return read_applications(config, client)
    except ExternalError as exc:
        return Unobservable(exc.message)
