"""Argo CD's Applications API, the subset the bot reads, served beside the sandbox's GitHub.

``GET /api/v1/applications/{name}`` and ``GET /api/v1/applications?selector=...`` answer
in the shapes of Argo CD's published description (``schemas/argocd``), with Argo CD's
error body ``{"error", "code", "message"}`` (grpc-gateway). Bearer tokens are Argo CD's
own (`add_token`), checked here, not GitHub's (the server skips its own authentication
and rate limit for ``/api/v1/``).

Transitions are scripted and driven by the sandbox's git: an Application tracks a branch
and path of a sandbox repository, and (as Argo CD does) reports the branch head it last
compared as its revision. When the "controller" notices a new head (at once, on
``?refresh=``, or after `poll` seconds): if a commit since touched the path, the
Application is OutOfSync at the old revision for `sync_delay` seconds, then Synced at the
new one and Progressing for `health_delay` seconds, then settles at its `outcome`
(Healthy, Degraded or Missing); if none did, it is Synced at the new head at once, with
nothing to roll out. With `auto_sync: false` it never syncs. Every delay is measured on
the sandbox's clock (`RequestContext.clock`, virtual in the demo), lazily, when the
Application is read: nothing runs in the background. An Application starts Synced and
Healthy at the branch head of the moment it is added.

Set up: ``add_application(server, "shop-staging", repo="acme/shop", path="deploy/staging")``
and ``add_token(server)`` for the bearer token.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.http import RequestContext, Response, Router

PREFIX = "/api/v1/"  # the server leaves authentication of these paths to this module
NAMESPACE = "argocd"
CLUSTER = "https://kubernetes.default.svc"
OUTCOMES = ("Healthy", "Degraded", "Missing")
_CODES = {401: 16, 403: 7, 404: 5, 400: 3}  # HTTP status -> gRPC code (grpc-gateway)


class ArgoError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        code = _CODES.get(self.status, 2)
        return Response(self.status, {"error": self.message, "code": code, "message": self.message})


def _section(data: dict[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = data["extra"].setdefault("argocd", {})
    section.setdefault("tokens", [])
    section.setdefault("applications", {})
    section.setdefault("state", {})
    return section


def add_token(server: Any) -> str:
    """A new Argo CD API token (what ``argocd account generate-token`` prints)."""
    token = "argocd-" + secrets.token_hex(16)
    with server.store.transaction() as data:
        _section(data)["tokens"].append(token)
    return token


def add_application(
    server: Any,
    name: str,
    *,
    repo: str,
    path: str = "",
    branch: str = "main",
    project: str = "default",
    labels: dict[str, str] | None = None,
    outcome: str = "Healthy",
    sync_delay: float = 30,
    health_delay: float = 60,
    auto_sync: bool = True,
    poll: float = 0,
    resources: tuple[tuple[str, str], ...] = (("Deployment", ""),),
) -> None:
    """An Application tracking `branch`:`path` of sandbox repository `repo`; it starts
    Synced and Healthy at the newest commit there. `resources`: (kind, name) pairs
    ("" name: the Application's)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}")
    spec = {
        "name": name, "repo": repo, "path": path, "branch": branch, "project": project,
        "labels": dict(labels or {}), "outcome": outcome, "sync_delay": sync_delay,
        "health_delay": health_delay, "auto_sync": auto_sync, "poll": poll,
        "resources": [[kind, res or name] for kind, res in resources],
        "created": server.clock().isoformat(),
    }  # fmt: skip
    tips = _tips(server.git, spec)
    with server.store.transaction() as data:
        section = _section(data)
        section["applications"][name] = spec
        section["state"][name] = {}
        advance(spec, section["state"][name], tips, server.clock(), False)  # first sight


def set_outcome(server: Any, name: str, outcome: str) -> None:
    """What the next rollout of `name` settles at (e.g. Degraded for a breach story)."""
    with server.store.transaction() as data:
        _section(data)["applications"][name]["outcome"] = outcome


# -- the scripted controller (pure but for the git read) ----------------------------------


@dataclass(frozen=True)
class View:
    sync: str
    revision: str
    health: str
    message: str
    phase: str  # operationState.phase, "" before any sync this run
    since: str  # ISO time of the current health's transition


def _tips(git: Any, spec: dict[str, Any]) -> tuple[str, str]:
    """(the tracked branch's head, the newest commit there touching the path)."""
    ref = f"refs/heads/{spec['branch']}"
    head = git.ref(spec["repo"], ref) or ""
    found = git.history(spec["repo"], ref, spec["path"] or None, 1) if head else []
    return head, (found[0] if found else "")


def advance(
    spec: dict[str, Any],
    state: dict[str, Any],
    tips: tuple[str, str],
    now: datetime,
    refresh: bool,
) -> View:
    """Move `state` (mutated) to `now` and say what the Application shows."""
    head, touched = tips
    if not state:  # first sight: deployed and healthy at the branch head
        at = now.isoformat()
        state.update(synced=head, target=head, touched=touched, detected=at, health="Healthy",
                     reconciled=at, since=at)  # fmt: skip
    polled = now - datetime.fromisoformat(state["reconciled"]) >= timedelta(seconds=spec["poll"])
    if refresh or polled:
        state["reconciled"] = now.isoformat()
        if head and head != state["target"]:
            settled = state["target"] == state["synced"]
            rollout = touched != state.get("touched")
            state.update(target=head, touched=touched)
            if rollout:  # the manifests changed: sync, then roll out
                state["detected"] = now.isoformat()
            elif settled:  # nothing to deploy: Synced at the new head at once
                state["synced"] = head
    if state["target"] == state["synced"]:
        return View("Synced", state["synced"], state["health"], _message(spec, state["health"]),
                    "Succeeded" if state.get("rolled") else "", state["since"])  # fmt: skip
    detected = datetime.fromisoformat(state["detected"])
    synced_at = detected + timedelta(seconds=spec["sync_delay"])
    settled_at = synced_at + timedelta(seconds=spec["health_delay"])
    if not spec["auto_sync"] or now < synced_at:
        return View("OutOfSync", state["synced"], state["health"],
                    _message(spec, state["health"]), "", state["since"])  # fmt: skip
    if now < settled_at:
        return View("Synced", state["target"], "Progressing", "Waiting for rollout to finish",
                    "Succeeded", synced_at.isoformat())  # fmt: skip
    state.update(synced=state["target"], health=spec["outcome"], since=settled_at.isoformat(),
                 rolled=True)  # fmt: skip
    return View("Synced", state["synced"], state["health"], _message(spec, state["health"]),
                "Succeeded", state["since"])  # fmt: skip


def _message(spec: dict[str, Any], health: str) -> str:
    if health == "Degraded":
        return f'Deployment "{spec["name"]}" exceeded its progress deadline'
    if health == "Missing":
        return "the Application's resources do not exist in the cluster"
    return ""


# -- rendering ---------------------------------------------------------------------------


def _time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _resource(kind: str, name: str, view: View, spec: dict[str, Any]) -> dict[str, Any]:
    health: dict[str, Any] = {"status": view.health}
    if view.message:
        health["message"] = view.message
    group = "apps" if kind in ("Deployment", "StatefulSet", "DaemonSet") else ""
    out = {"group": group, "version": "v1", "kind": kind, "namespace": spec["name"],
           "name": name, "status": view.sync, "health": health}  # fmt: skip
    return {k: v for k, v in out.items() if v != ""}


def application_json(ctx: RequestContext, spec: dict[str, Any], view: View) -> dict[str, Any]:
    source = {
        "repoURL": f"{ctx.base_url}/{spec['repo']}.git",
        "path": spec["path"] or ".",
        "targetRevision": spec["branch"],
    }
    destination = {"server": CLUSTER, "namespace": spec["name"]}
    health: dict[str, Any] = {"status": view.health, "lastTransitionTime": _time(view.since)}
    if view.message:
        health["message"] = view.message
    status: dict[str, Any] = {
        "sync": {"status": view.sync, "revision": view.revision,
                 "comparedTo": {"source": source, "destination": destination}},
        "health": health,
        "resources": [_resource(k, n, view, spec) for k, n in spec["resources"]],
        "reconciledAt": ctx.now(),
        "sourceType": "Directory",
        "controllerNamespace": NAMESPACE,
    }  # fmt: skip
    if view.phase:
        status["operationState"] = {
            "phase": view.phase,
            "message": "successfully synced (all tasks run)",
            "startedAt": _time(view.since),
            "syncResult": {"revision": view.revision, "source": source},
        }  # fmt: skip
    automated = {"prune": True, "selfHeal": True} if spec["auto_sync"] else None
    return {
        "metadata": {
            "name": spec["name"],
            "namespace": NAMESPACE,
            "labels": spec["labels"],
            "creationTimestamp": _time(spec["created"]),
            "uid": f"sandbox-{spec['name']}",
        },
        "spec": {
            "project": spec["project"],
            "source": source,
            "destination": destination,
            "syncPolicy": {"automated": automated} if automated else {},
        },
        "status": status,
    }


# -- handlers ----------------------------------------------------------------------------


def _authorize(ctx: RequestContext, section: dict[str, Any]) -> None:
    header = ctx.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ArgoError(401, "no session information")
    if scheme.lower() != "bearer" or token.strip() not in section["tokens"]:
        raise ArgoError(401, "invalid session: token signature is invalid")


def _read(ctx: RequestContext, name: str, section: dict[str, Any], refresh: bool) -> dict:
    spec = section["applications"][name]
    state = section["state"].setdefault(name, {})
    view = advance(spec, state, _tips(ctx.git, spec), ctx.clock(), refresh)
    return application_json(ctx, spec, view)


def get_application(ctx: RequestContext) -> Response:
    try:
        with ctx.store.transaction() as data:
            section = _section(data)
            _authorize(ctx, section)
            name, project = ctx.params["name"], ctx.arg("project") or ctx.arg("projects") or ""
            spec = section["applications"].get(name)
            if spec is None or (project and spec["project"] != project):
                if project:  # Argo CD reveals a missing Application only given its project
                    raise ArgoError(404, f'applications.argoproj.io "{name}" not found')
                raise ArgoError(403, "permission denied")
            return Response(200, _read(ctx, name, section, bool(ctx.arg("refresh"))))
    except ArgoError as exc:
        return exc.response()


def list_applications(ctx: RequestContext) -> Response:
    try:
        with ctx.store.transaction() as data:
            section = _section(data)
            _authorize(ctx, section)
            try:
                wanted = parse_selector(ctx.arg("selector") or "") if ctx.arg("selector") else ()
            except ValueError as exc:
                raise ArgoError(400, f"error parsing the selector: {exc}") from None
            projects = set(ctx.query.get("projects", []) + ctx.query.get("project", []))
            items = [
                _read(ctx, name, section, bool(ctx.arg("refresh")))
                for name, spec in sorted(section["applications"].items())
                if selector_matches(wanted, spec["labels"])
                and (not projects or spec["project"] in projects)
            ]
            return Response(200, {"metadata": {"resourceVersion": "1"}, "items": items})
    except ArgoError as exc:
        return exc.response()


def routes(router: Router) -> None:
    router.add("GET", "/api/v1/applications", list_applications)
    router.add("GET", "/api/v1/applications/{name}", get_application)


# -- label selectors, server side (Argo CD: k8s.io/apimachinery labels.Parse) ---------
# Its own copy, as Argo CD has its own: the bot's (bot.config.argocd_checks) is checked to
# agree with it in tests/argocd.

_KEY = r"(?:[a-z0-9A-Z.-]+/)?[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?"
_TERM = re.compile(
    rf"^\s*(?:(?P<not>!)\s*(?P<nkey>{_KEY})|(?P<key>{_KEY})\s*"
    rf"(?:(?P<op>==|!=|=)\s*(?P<value>{_VALUE})|\s+(?P<set>in|notin)\s*\((?P<values>[^()]*)\))?)\s*$"
)

Requirement = tuple[str, str, tuple[str, ...]]  # (key, op, values); op: = != in notin exists !


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """A Kubernetes label selector (equality- and set-based) as requirements; ValueError
    naming the bad term."""
    out: list[Requirement] = []
    for term in _split_terms(text):
        found = _TERM.match(term)
        if found is None:
            raise ValueError(f"label selector term {term.strip()!r} is not valid")
        if found["nkey"]:
            out.append((found["nkey"], "!", ()))
        elif found["op"]:
            out.append((found["key"], "!=" if found["op"] == "!=" else "=", (found["value"],)))
        elif found["set"]:
            values = tuple(v.strip() for v in found["values"].split(",") if v.strip())
            out.append((found["key"], found["set"], values))
        else:
            out.append((found["key"], "exists", ()))
    if not out:
        raise ValueError("the label selector is empty")
    return tuple(out)


def _split_terms(text: str) -> list[str]:
    """Terms split at commas outside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [*terms, current]


def selector_matches(requirements: Sequence[Requirement], labels: dict[str, str]) -> bool:
    """Whether `labels` satisfy every requirement of a parsed selector."""
    return all(_satisfies(labels, key, op, values) for key, op, values in requirements)


def _satisfies(labels: dict[str, str], key: str, op: str, values: tuple[str, ...]) -> bool:
    if op == "exists":
        return key in labels
    if op == "!":
        return key not in labels
    if op in ("=", "in"):
        return key in labels and labels[key] in values
    return labels.get(key) not in values  # "!=" and "notin": true when the label is absent
