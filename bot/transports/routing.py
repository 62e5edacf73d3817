"""Which repository a webhook delivery asks us to look at, or why it is ignored.

Pure: an event name and its parsed payload in, a `Route` out. A webhook only says
"look again, soon" (the reconcile loop is level-triggered), so routing only has to pick
the repository and the installation, and to drop what cannot change a train.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# event -> actions that can matter (None: every action).
RELEVANT: Mapping[str, frozenset[str] | None] = {
    "pull_request": frozenset(
        {
            "opened",
            "reopened",
            "closed",
            "labeled",
            "unlabeled",
            "synchronize",
            "edited",
            "ready_for_review",
            "converted_to_draft",
        }
    ),
    "pull_request_review": frozenset({"submitted", "dismissed", "edited"}),
    "issue_comment": frozenset({"created"}),
    "check_run": frozenset({"created", "completed", "rerequested", "requested_action"}),
    "check_suite": frozenset({"completed", "rerequested"}),
    "status": None,
    "push": None,
    "deployment_status": None,
    "workflow_run": frozenset({"completed"}),
    # an image pushed: a train waiting for it settles its artifact set (bot.shell.artifacts_io)
    "registry_package": frozenset({"published", "updated"}),
    "package": frozenset({"published", "updated"}),
    "code_scanning_alert": None,
    "repository_dispatch": None,
}
# Events that change which repositories we watch; routed to the scheduler.
INSTALLATION_EVENTS = frozenset({"installation", "installation_repositories"})
# Events that the bot itself causes and that cannot tell it anything new. A check run the
# bot completes or a comment it posts are its own writes; CI completing is someone else's.
OWN_EVENTS_IGNORED = frozenset(
    {
        "issue_comment",
        "pull_request",
        "pull_request_review",
        "check_run",
        "check_suite",
        "push",
        "status",
        "deployment_status",
    }
)


@dataclass(frozen=True)
class Route:
    """Where a delivery leads: `repo` to reconcile, or `ignored` with a reason."""

    repo: str | None
    installation_id: int | None
    reason: str = ""
    action: str = ""

    @property
    def ignored(self) -> bool:
        return self.repo is None


@dataclass(frozen=True)
class InstallationChange:
    """Repositories an installation event added or removed."""

    installation_id: int
    added: tuple[str, ...]
    removed: tuple[str, ...]


def _installation_id(payload: Mapping[str, Any]) -> int | None:
    inst = payload.get("installation")
    if isinstance(inst, Mapping) and isinstance(inst.get("id"), int):
        return int(inst["id"])
    return None


def _repo_name(payload: Mapping[str, Any]) -> str | None:
    repo = payload.get("repository")
    if isinstance(repo, Mapping):
        name = repo.get("full_name")
        if isinstance(name, str) and name.count("/") == 1:
            return name
    return None


def _sender(payload: Mapping[str, Any]) -> str:
    sender = payload.get("sender")
    if isinstance(sender, Mapping) and isinstance(sender.get("login"), str):
        return str(sender["login"])
    return ""


def route(event: str, payload: Mapping[str, Any], *, bot_login: str | None = None) -> Route:
    """Decide what a delivery of `event` with `payload` means for the bot."""
    action = payload.get("action")
    action = action if isinstance(action, str) else ""
    inst = _installation_id(payload)
    if event == "ping":
        return Route(None, inst, "ping", action)
    if event in INSTALLATION_EVENTS:
        return Route(None, inst, "installation change (scheduler)", action)
    if event not in RELEVANT:
        return Route(None, inst, f"event {event!r} does not affect trains", action)
    allowed = RELEVANT[event]
    if allowed is not None and action not in allowed:
        return Route(None, inst, f"{event}.{action} does not affect trains", action)
    repo = _repo_name(payload)
    if repo is None:
        return Route(None, inst, "no repository in payload", action)
    if bot_login and event in OWN_EVENTS_IGNORED and _sender(payload) == bot_login:
        return Route(None, inst, "the bot's own event", action)
    return Route(repo, inst, "", action)


def installation_change(event: str, payload: Mapping[str, Any]) -> InstallationChange | None:
    """For installation events, the repositories that start or stop being watched."""
    inst = _installation_id(payload)
    if event not in INSTALLATION_EVENTS or inst is None:
        return None
    action = payload.get("action")

    def names(key: str) -> tuple[str, ...]:
        items = payload.get(key)
        if not isinstance(items, list):
            return ()
        return tuple(
            str(r["full_name"])
            for r in items
            if isinstance(r, Mapping) and isinstance(r.get("full_name"), str)
        )

    if event == "installation":
        if action in ("created", "new_permissions_accepted", "unsuspend"):
            return InstallationChange(inst, names("repositories"), ())
        if action in ("deleted", "suspend"):
            return InstallationChange(inst, (), names("repositories"))
        return None
    return InstallationChange(inst, names("repositories_added"), names("repositories_removed"))


def delivery_summary(event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A few fields worth logging about a delivery (never the body)."""
    summary: dict[str, Any] = {"event": event}
    action = payload.get("action")
    if isinstance(action, str):
        summary["action"] = action
    number = None
    for key in ("pull_request", "issue"):
        item = payload.get(key)
        if isinstance(item, Mapping) and isinstance(item.get("number"), int):
            number = item["number"]
            break
    if number is not None:
        summary["number"] = number
    sender = _sender(payload)
    if sender:
        summary["sender"] = sender
    return summary
