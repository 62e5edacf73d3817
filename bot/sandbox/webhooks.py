"""Webhook delivery like a GitHub App's: signed POSTs from a background thread.

`Deliverer` queues deliveries and POSTs them with GitHub's headers (`X-GitHub-Event`,
`X-GitHub-Delivery`, `X-GitHub-Hook-ID`, `X-GitHub-Hook-Installation-Target-*`,
`X-Hub-Signature-256` and the legacy sha1 `X-Hub-Signature`). It keeps a delivery log
with response codes. Test knobs, all seeded: `duplicate` (probability that a delivery is
sent twice, with the same delivery id, as a GitHub redelivery is) and `reorder` (deliveries
are released in groups of that size, shuffled; `flush` releases a partial group).

The payload builders are pure: REST-shaped objects in, a payload shaped like GitHub's out
(checked against `@octokit/webhooks-examples` by the tests). The `emit_*` helpers build a
payload and hand it to `RequestContext.emit`, for the endpoint handlers.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

USER_AGENT = "GitHub-Hookshot/sandbox"
JSON = dict[str, Any]


def sign(secret: str | bytes, body: bytes, algorithm: str = "sha256") -> str:
    """The signature header value GitHub computes: ``sha256=<hex hmac of the body>``."""
    key = secret.encode() if isinstance(secret, str) else secret
    return f"{algorithm}=" + hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """One POST attempt: what was sent and how the receiver answered (status 0: no answer)."""

    delivery_id: str
    event: str
    action: str | None
    status: int
    duration_ms: float
    error: str = ""
    duplicate: bool = False
    payload: JSON = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    event: str
    payload: JSON
    duplicate: bool = False


_STOP = object()


class Deliverer:
    """Queue and deliver webhooks to `url`, signed with `secret`.

    Pluggable as the sandbox server's deliverer: calling it with ``(event, payload,
    repo_full_name)`` queues one delivery (the repository name is not used here; the
    payload carries it). Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        seed: int = 0,
        hook_id: int = 1,
        target_type: str = "integration",
        target_id: int = 1,
        timeout: float = 10.0,
        duplicate: float = 0.0,
        reorder: int = 1,
    ) -> None:
        self.url = url
        self.secret = secret
        self.hook_id = hook_id
        self.target_type = target_type
        self.target_id = target_id
        self.timeout = timeout
        self.duplicate = duplicate
        self.reorder = max(1, reorder)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._held: list[_Job] = []
        self._queue: queue.Queue[object] = queue.Queue()
        self._log: list[Delivery] = []
        self._thread = threading.Thread(target=self._run, name="webhook-deliverer", daemon=True)
        self._thread.start()

    # -- queueing -----------------------------------------------------------------------

    def __call__(self, event: str, payload: JSON, repo: str = "") -> None:
        self.send(event, payload)

    def send(self, event: str, payload: JSON) -> str:
        """Queue one delivery; returns its delivery id (seeded, so replays repeat it)."""
        with self._lock:
            delivery_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            jobs = [_Job(delivery_id, event, payload)]
            if self.duplicate and self._rng.random() < self.duplicate:
                jobs.append(_Job(delivery_id, event, payload, duplicate=True))
            self._held.extend(jobs)
            if len(self._held) >= self.reorder:
                self._release()
        return delivery_id

    def _release(self) -> None:
        """Move held jobs to the queue, shuffled when reordering (caller holds the lock)."""
        held, self._held = self._held, []
        if self.reorder > 1:
            self._rng.shuffle(held)
        for job in held:
            self._queue.put(job)

    def flush(self, timeout: float = 10.0) -> bool:
        """Release held deliveries and wait until all are sent; False on timeout."""
        with self._lock:
            self._release()
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    @property
    def log(self) -> list[Delivery]:
        """Every attempt so far, in the order sent."""
        with self._lock:
            return list(self._log)

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def __enter__(self) -> Deliverer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is _STOP:
                    return
                assert isinstance(job, _Job)
                record = self._post(job)
                with self._lock:
                    self._log.append(record)
            finally:
                self._queue.task_done()

    def headers(self, event: str, delivery_id: str, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Hook-ID": str(self.hook_id),
            "X-GitHub-Hook-Installation-Target-Type": self.target_type,
            "X-GitHub-Hook-Installation-Target-ID": str(self.target_id),
            "X-Hub-Signature-256": sign(self.secret, body, "sha256"),
            "X-Hub-Signature": sign(self.secret, body, "sha1"),
        }

    def _post(self, job: _Job) -> Delivery:
        body = json.dumps(job.payload, separators=(",", ":")).encode()
        headers = self.headers(job.event, job.delivery_id, body)
        started = time.perf_counter()
        status, error = 0, ""
        try:
            status = _post_once(self.url, body, headers, self.timeout)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        action = job.payload.get("action")
        return Delivery(
            job.delivery_id,
            job.event,
            action if isinstance(action, str) else None,
            status,
            round(elapsed, 3),
            error,
            job.duplicate,
            job.payload,
        )


def _post_once(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST with header names exactly as given (GitHub's casing); returns the status."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# -- payload builders (pure) ---------------------------------------------------------------


def installation_ref(installation_id: int | None) -> JSON:
    """The `installation` member of an App's webhook payload."""
    if installation_id is None:
        return {}
    node = f"MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u{installation_id}"
    return {"installation": {"id": installation_id, "node_id": node}}


def _envelope(
    action: str | None, repository: JSON, sender: JSON | None, installation_id: int | None
) -> JSON:
    """The members every repository event has. A None `sender` is left out, for
    `RequestContext.emit` to fill with the caller."""
    out: JSON = {"action": action} if action is not None else {}
    out["repository"] = repository
    if sender is not None:
        out["sender"] = sender
    out.update(installation_ref(installation_id))
    return out


def pull_request_payload(
    action: str,
    pull_request: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
    *,
    label: JSON | None = None,
    before: str | None = None,
    after: str | None = None,
    changes: JSON | None = None,
) -> JSON:
    """`pull_request` event: opened, labeled/unlabeled (`label`), synchronize (`before`,
    `after`), edited (`changes`), closed (the PR's `merged` says whether it merged)."""
    out = _envelope(action, repository, sender, installation_id)
    out["number"] = pull_request["number"]
    out["pull_request"] = pull_request
    if label is not None:
        out["label"] = label
    if before is not None:
        out["before"] = before
    if after is not None:
        out["after"] = after
    if changes is not None:
        out["changes"] = changes
    return out


def pull_request_review_payload(
    action: str,
    review: JSON,
    pull_request: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
) -> JSON:
    """`pull_request_review` event: submitted, dismissed, edited."""
    out = _envelope(action, repository, sender, installation_id)
    out["review"] = review
    out["pull_request"] = pull_request
    return out


def issue_comment_payload(
    action: str,
    comment: JSON,
    issue: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
    *,
    changes: JSON | None = None,
) -> JSON:
    """`issue_comment` event: created, edited (with `changes.body.from`), deleted.

    For a comment on a pull request, `issue` carries a `pull_request` member with its URLs
    (the REST issue object for a PR already does)."""
    out = _envelope(action, repository, sender, installation_id)
    out["issue"] = issue
    out["comment"] = comment
    if action == "edited":
        out["changes"] = changes if changes is not None else {}
    return out


def check_run_payload(
    action: str,
    check_run: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
    *,
    requested_action: JSON | None = None,
) -> JSON:
    """`check_run` event: created, completed, rerequested, requested_action."""
    out = _envelope(action, repository, sender, installation_id)
    out["check_run"] = check_run
    if action == "requested_action":
        out["requested_action"] = requested_action or {"identifier": ""}
    return out


def check_suite_payload(
    action: str,
    check_suite: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
) -> JSON:
    """`check_suite` event: requested, rerequested, completed."""
    out = _envelope(action, repository, sender, installation_id)
    out["check_suite"] = check_suite
    return out


def push_payload(
    *,
    ref: str,
    before: str,
    after: str,
    commits: list[JSON],
    repository: JSON,
    pusher: JSON,
    sender: JSON | None,
    installation_id: int | None,
    forced: bool = False,
) -> JSON:
    """`push` event (no `action`). `commits` are webhook-shaped commits (see
    `push_commit`), oldest first; `head_commit` is the last, or None for a deletion."""
    zero = "0" * 40
    html = repository.get("html_url", "")
    out = _envelope(None, repository, sender, installation_id)
    out.update(
        {
            "ref": ref,
            "before": before,
            "after": after,
            "base_ref": None,
            "created": before == zero,
            "deleted": after == zero,
            "forced": forced,
            "compare": f"{html}/compare/{before[:12]}...{after[:12]}",
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
            "pusher": pusher,
        }
    )
    return out


def push_commit(
    sha: str,
    tree_id: str,
    message: str,
    timestamp: str,
    author: JSON,
    committer: JSON,
    repository_html_url: str,
    *,
    added: list[str] | None = None,
    removed: list[str] | None = None,
    modified: list[str] | None = None,
) -> JSON:
    """A commit as a push payload lists it (`author`/`committer` are name/email/username)."""
    return {
        "id": sha,
        "tree_id": tree_id,
        "distinct": True,
        "message": message,
        "timestamp": timestamp,
        "url": f"{repository_html_url}/commit/{sha}",
        "author": author,
        "committer": committer,
        "added": added or [],
        "removed": removed or [],
        "modified": modified or [],
    }


def deployment_payload(
    deployment: JSON, repository: JSON, sender: JSON | None, installation_id: int | None
) -> JSON:
    """`deployment` event (action `created`); no Actions workflow made it."""
    out = _envelope("created", repository, sender, installation_id)
    out["deployment"] = deployment
    out["workflow"] = None
    out["workflow_run"] = None
    return out


def deployment_status_payload(
    deployment_status: JSON,
    deployment: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
) -> JSON:
    """`deployment_status` event (action `created`)."""
    out = _envelope("created", repository, sender, installation_id)
    out["deployment_status"] = deployment_status
    out["deployment"] = deployment
    return out


def status_payload(
    status: JSON,
    commit: JSON,
    repository: JSON,
    sender: JSON | None,
    installation_id: int | None,
    *,
    branches: list[JSON] | None = None,
    name: str = "",
) -> JSON:
    """`status` event (no `action`): a commit status was created."""
    out = _envelope(None, repository, sender, installation_id)
    out.update(
        {
            "id": status["id"],
            "sha": commit["sha"],
            "name": name or repository.get("full_name", ""),
            "target_url": status.get("target_url"),
            "avatar_url": status.get("avatar_url"),
            "context": status["context"],
            "description": status.get("description"),
            "state": status["state"],
            "commit": commit,
            "branches": branches or [],
            "created_at": status["created_at"],
            "updated_at": status["updated_at"],
        }
    )
    return out


def installation_payload(
    action: str, installation: JSON, repositories: list[JSON], sender: JSON
) -> JSON:
    """`installation` event: created, deleted (with `repositories`), suspend, unsuspend."""
    out: JSON = {"action": action, "installation": installation, "sender": sender}
    if action in ("created", "deleted", "new_permissions_accepted"):
        out["repositories"] = [
            {k: r[k] for k in ("id", "node_id", "name", "full_name", "private") if k in r}
            for r in repositories
        ]
    return out


# -- emitting from handlers ---------------------------------------------------------------

Emit = Callable[[str, JSON, str], None]


def emit(ctx: Any, event: str, payload: JSON) -> None:
    """Queue `payload` through the request's deliverer (`RequestContext.emit`)."""
    repository = payload.get("repository") or {}
    ctx.emit(event, payload, str(repository.get("full_name", "")))
