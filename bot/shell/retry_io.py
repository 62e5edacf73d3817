"""`/train retry without #N` at the edge: the requests on a rolled-back train's PR and
incident, the facts `bot.core.retry` decides from (who may, which files the excluded PRs
changed, as they are now and before the train), and performing `OpenRetryPR`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.core import holds as holds_mod
from bot.core import promotion as pm
from bot.core import retry
from bot.core.actions import Action, marker
from bot.core.chatops import MAX_PER_COMMENT, denial, parse_commands, permitted
from bot.core.ledger import TrainRecord, decode, record_path
from bot.core.promotion_steps import Seen
from bot.core.retry_actions import OpenRetryPR
from bot.core.train import ROLLED_BACK
from bot.errors import ExternalError


def retry_actions(
    ctx: Any, record: TrainRecord, comments: Sequence[Any], holds: holds_mod.Holds, seen: Seen
) -> list[Action] | None:
    """The actions of the oldest unanswered `/train retry` comment; None when there is none."""
    request = _request(ctx, record, comments)
    if request is None:
        return None
    train = ctx.config.train(record.train)
    facts: list[retry.FileFacts] = []
    if not retry.refusal(record, request):  # a failed read raises: asked again next round
        facts = file_facts(ctx, record, retry.excluded(request.arg) or (), train.base)
    return retry.decide(train, record, request, facts, holds, seen, ctx.now)


def _request(ctx: Any, record: TrainRecord, comments: Sequence[Any]) -> retry.Request | None:
    client = ctx.client
    bot = client.bot_login()
    answered = {c.body for c in comments if c.author == bot}
    for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
        if comment.author == bot or comment.edited:
            continue
        if any(marker(f"reply:{comment.id}") in body for body in answered):
            continue
        found = [c for c in parse_commands(comment.body, MAX_PER_COMMENT) if c.name == "retry"]
        if not found:
            continue
        team = ctx.config.chatops.release_team
        permission = client.permission(comment.author)
        in_team = bool(team) and client.team_member(team, comment.author)
        ok = permitted("retry", permission, in_team)
        no = "" if ok else denial("retry", permission, team)
        command = found[0]
        return retry.Request(
            comment.author, comment.id, comment.issue, command.raw, command.arg, ok, no
        )
    return None


def file_facts(
    ctx: Any, record: TrainRecord, numbers: Sequence[int], base: str
) -> list[retry.FileFacts]:
    """Each path the PRs changed: its blob at the base's tip, at the PR's head, before the
    train (at the base it departed from)."""
    tip = _listing(ctx.client, ctx.client.commit_tree(_branch_sha(ctx.client, base)))
    before = _listing(ctx.client, ctx.client.commit_tree(record.base_sha))
    facts = []
    for number in numbers:
        for f in ctx.client.get_pages(f"/pulls/{number}/files", {}):
            path, status = str(f.get("filename", "")), str(f.get("status", ""))
            head = "" if status == "removed" else str(f.get("sha") or "")
            facts.append(retry.FileFacts(path, tip.get(path, ""), head, before.get(path, "")))
            old = f.get("previous_filename")
            if status == "renamed" and old:
                facts.append(retry.FileFacts(str(old), tip.get(old, ""), "", before.get(old, "")))
    return facts


def _branch_sha(client: Any, branch: str) -> str:
    status, body = client.get_json(f"/branches/{branch}")
    if status != 200 or not isinstance(body, dict):
        raise ExternalError("GitHub", f"branch {branch}: {status}", status=status)
    return str(body["commit"]["sha"])


def _listing(client: Any, tree: str) -> dict[str, str]:
    status, body = client.get_json(f"/git/trees/{tree}", {"recursive": 1})
    if status != 200 or not isinstance(body, dict) or body.get("truncated"):
        raise ExternalError("GitHub", f"tree {tree[:12]}: {status}", status=status)
    return {str(e["path"]): str(e["sha"]) for e in body.get("tree", []) if e.get("type") == "blob"}


def perform_retry(client: Any, action: OpenRetryPR) -> int:
    """The revert PR's number: adopted when a PR with its head exists (open or merged),
    else made (one tree, one commit, the branch, the PR, its label)."""
    params = {"head": f"{client.owner}:{action.head}", "base": action.base, "state": "all"}
    found = client.get_pages("/pulls", params)
    if found:
        return int(found[0]["number"])
    tip = _branch_sha(client, action.base)
    entries = [
        {"path": p, "mode": "100644", "type": "blob", "sha": sha or None} for p, sha in action.files
    ]
    tree = _post(client, "/git/trees", {"tree": entries, "base_tree": client.commit_tree(tip)})
    message = f"{action.title}\n\n{action.body}\n\nTrain-Id: {action.train_id}\n"
    commit = _post(
        client, "/git/commits", {"message": message, "tree": tree["sha"], "parents": [tip]}
    )
    client.create_branch(action.head, commit["sha"])
    pr = client.open_pull(action.head, action.base, action.title, action.body)
    client.add_labels(pr.number, [action.label])
    return int(pr.number)


def _post(client: Any, path: str, body: dict[str, Any]) -> Any:
    response = client._call("POST", client._repo_url(path), json=body)
    if response.status_code != 201:
        raise client._fail(response, f"POST {path}")
    return response.json()


_REVERT_TITLE = re.compile(r"^Revert #\d+(?:, #\d+)* of (\S+)$")


def retried_services(ctx: Any, record: TrainRecord) -> tuple[str, ...]:
    """The services a rolled-back train carried, for the train that boards the bot's revert
    PR of `/train retry` (found by its author, the bot, and its title): the rest of that
    train's changes ride with the revert, so its services are promoted again."""
    bot = ctx.client.bot_login()
    out: set[str] = set()
    for boarded in record.boarded:
        match = _REVERT_TITLE.match(boarded.title)
        if boarded.author != bot or match is None:
            continue
        tid = match.group(1)
        sha = ctx.snap.tip.files.get(record_path(tid))
        found = ctx.snap.ledger.record(tid) or (decode(ctx.client.read_blob(sha)) if sha else None)
        if found is not None and found.state == ROLLED_BACK:
            out |= set(pm.load(found).tags)
    return tuple(sorted(out))
