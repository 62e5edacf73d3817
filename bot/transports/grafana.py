"""Optional: each deployment event `serve` sees also becomes a Grafana annotation
(`POST /api/annotations`), when the operator sets `GRAFANA_URL` and `GRAFANA_TOKEN`.

Like `/metrics` and the Action's job summary, this reports what the reconcile did; it
changes nothing a train reads, so it is a report and not one of the reconcile's actions.
Only the operator names Grafana (its environment; a repository cannot), and every request
goes through the outbound policy (`bot.adapters.guarded_http`): the token goes to
`GRAFANA_URL`'s origin only.

Once per event: an event already posted by this process is skipped; a new one is first
looked up (`GET /api/annotations` with its tags at its exact time), so a restart or a
second replica does not post it twice. Grafana failing is logged and retried at the next
reconcile; it never fails the reconcile. Bounded: at most `PER_RECONCILE` events are posted
after one reconcile (the rest after the next), each request times out after `TIMEOUT`
seconds, and the posted keys kept are those of the events the last reconcile saw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from bot.config.outbound import Endpoint, OutboundPolicy
from bot.core.deploy_events import DeployEvent
from bot.errors import ExternalError, Problem

LOG = logging.getLogger("release_train.grafana")
WHERE = "environment"
TAG = "release-train"
PER_RECONCILE = 32  # events posted after one reconcile at most (the rest after the next)
TIMEOUT = 5.0  # seconds per request: a slow Grafana holds a reconcile thread that long

Key = tuple[str, str, str, str, int]  # repository, train, stage, event, time in ms
Client = Any  # a `GuardedClient` (or anything with its `request` and context manager)


def grafana_from_env(env: Mapping[str, str], problems: list[Problem]) -> Endpoint | None:
    """The operator's Grafana (`GRAFANA_URL` + `GRAFANA_TOKEN`, a service account token),
    or None when unset; a half-set or malformed pair is a problem naming the variable."""
    url = env.get("GRAFANA_URL", "").strip().rstrip("/")
    token = env.get("GRAFANA_TOKEN", "").strip()
    if not url and not token:
        return None
    if not url.startswith(("http://", "https://")):
        why = "must be set" if not url else f"{url!r} is not an http(s) URL"
        problems.append(Problem(f"GRAFANA_URL {why} (GRAFANA_TOKEN is set)", file=WHERE))
        return None
    if not token:
        problems.append(Problem("GRAFANA_TOKEN must be set with GRAFANA_URL", file=WHERE))
        return None
    return Endpoint(url, "GRAFANA_URL", trusted=True, token=token)


def key_of(repository: str, event: DeployEvent) -> Key:
    return (repository, event.train, event.stage, event.event, round(event.timestamp * 1000))


def annotation(key: Key) -> dict[str, Any]:
    """The body of `POST /api/annotations` for one event (an organization annotation)."""
    repository, train, stage, event, ms = key
    tags = [TAG, f"repository:{repository}", f"train:{train}", f"event:{event}"]
    tags += [f"stage:{stage}"] if stage else []
    where = f" {stage}" if stage else ""
    return {"time": ms, "tags": tags, "text": f"{train}: {event}{where} ({repository})"}


class GrafanaAnnotator:
    def __init__(
        self,
        endpoint: Endpoint,
        policy: OutboundPolicy,
        *,
        client: Callable[..., Client] | None = None,
    ) -> None:
        from bot.adapters.guarded_http import GuardedClient

        self.endpoint = endpoint
        self.policy = policy
        self._client = client or GuardedClient
        self._posted: dict[str, set[Key]] = {}  # per repository

    def post(self, repository: str, events: Sequence[DeployEvent]) -> int:
        """Annotate the events not annotated yet; the number posted now."""
        keys = [key_of(repository, e) for e in events]
        done = self._posted.get(repository, set())
        todo = [k for k in keys if k not in done][:PER_RECONCILE]
        posted = 0
        if todo:
            try:
                with self._client(self.endpoint, self.policy, timeout=TIMEOUT) as http:
                    for key in todo:
                        posted += self._one(http, key)
                        done.add(key)
            except (ExternalError, httpx.HTTPError, ValueError) as exc:
                why = (
                    exc.message
                    if isinstance(exc, ExternalError)
                    else f"{type(exc).__name__}: {exc}"
                )
                LOG.warning("Grafana annotations: %s", why, extra={"repo": repository})
        self._posted[repository] = done & set(keys) if keys else done
        return posted

    def _one(self, http: Client, key: Key) -> int:
        body = annotation(key)
        base = self.endpoint.url
        params: list[tuple[str, str | int]] = [("from", key[4]), ("to", key[4]), ("limit", 1)]
        params += [("type", "annotation"), *(("tags", t) for t in body["tags"])]
        found = http.request("GET", f"{base}/api/annotations", params=params)
        _check(found, "GET /api/annotations")
        existing = found.json()
        if isinstance(existing, list) and existing:
            return 0
        made = http.request("POST", f"{base}/api/annotations", json=body)
        _check(made, "POST /api/annotations")
        return 1


def _check(response: Any, what: str) -> None:
    if response.status_code >= 300:
        raise ExternalError("Grafana", f"{what} answered {response.status_code}")
