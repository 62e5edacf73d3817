"""GitHub Actions in the sandbox: the workflow token's identity, and workflows whose runs
are started by events — except the events that identity caused.

GitHub: "When you use the repository's GITHUB_TOKEN to perform tasks, events triggered by
the GITHUB_TOKEN, with the exception of workflow_dispatch and repository_dispatch, will not
create a new workflow run." So a train PR or a stage PR the bot opens with the workflow's
token gets no CI, and a bot that waits for that CI waits forever (`release-train doctor`
says so when the Action runs it).

- `actions_token(store, repo)`: an installation token of the ``github-actions`` App acting
  as ``github-actions[bot]`` on `repo` only, with a GITHUB_TOKEN's permissions (never
  ``members``: it cannot read an organization's teams).
- ``extra["workflows"][repo]``: workflow name -> the events that start it
  (``pull_request``: opened, synchronize, reopened; ``push``). A started workflow is a
  queued check run of that name on the event's head commit, owned by the
  ``github-actions`` App (the test, as the runner, completes it with `set_check`).
- `triggered(ctx, repo, event, action, sha)`: called where the sandbox emits a push or a
  pull request's opened/synchronize/reopened (with or without a webhook receiver).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.sandbox.http import RequestContext
    from bot.sandbox.store import Store

ACTIONS_APP_ID = 15368  # GitHub's `github-actions` App
ACTIONS_LOGIN = "github-actions[bot]"
ACTIONS_INSTALLATION = 15368
PERMISSIONS = {
    "contents": "write", "pull_requests": "write", "issues": "write", "checks": "write",
    "statuses": "write", "deployments": "write", "metadata": "read",
    "security_events": "read", "actions": "write",
}  # fmt: skip
STARTS = {"pull_request": ("opened", "synchronize", "reopened"), "push": ()}


def actions_token(store: Store, repo: str, permissions: dict[str, str] | None = None) -> str:
    """A workflow's GITHUB_TOKEN for `repo` (its installation made on first use)."""
    with store.transaction() as data:
        store.add_user(ACTIONS_LOGIN, type="Bot", name="github-actions")
        inst = data["installations"].setdefault(str(ACTIONS_INSTALLATION), {
            "id": ACTIONS_INSTALLATION, "app_id": ACTIONS_APP_ID,
            "account": repo.split("/", 1)[0], "repositories": [], "role": "write",
            "permissions": dict(PERMISSIONS),
        })  # fmt: skip
        if repo not in inst["repositories"]:
            inst["repositories"].append(repo)
        return store.add_token(
            ACTIONS_LOGIN, installation_id=ACTIONS_INSTALLATION, repositories=[repo],
            permissions=dict(permissions or PERMISSIONS),
        )  # fmt: skip


def workflows(store: Store, repo: str) -> dict[str, list[str]]:
    """The repository's workflows: name -> events (a live dict: change it in a transaction)."""
    found: dict[str, list[str]] = (
        store.data["extra"].setdefault("workflows", {}).setdefault(repo, {})
    )
    return found


def triggered(ctx: RequestContext, repo: str, event: str, action: str, sha: str) -> list[str]:
    """Start the repository's workflows `event` (with `action`) starts: queued check runs
    on `sha`; none when the workflow token caused the event. The names started."""
    on = workflows(ctx.store, repo) if repo in ctx.store.data["extra"].get("workflows", {}) else {}
    starts = event in STARTS and (not STARTS[event] or action in STARTS[event])
    wanted = [name for name, events in on.items() if event in events] if starts else []
    if not wanted or not sha.strip("0") or ctx.installation_id == ACTIONS_INSTALLATION:
        return []
    for name in wanted:
        ctx.store.insert("check_runs", {
            "repo": repo, "head_sha": sha, "name": name, "status": "queued",
            "conclusion": None, "started_at": ctx.now(), "completed_at": None,
            "external_id": "", "details_url": None, "app_id": ACTIONS_APP_ID,
            "check_suite_id": None, "annotations": [], "actions": [],
            "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
        })  # fmt: skip
    return wanted
