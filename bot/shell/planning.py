"""Planning: what the round after this one would decide if every action succeeded (merges
clean, branches made, labels set, train PRs opened). `plan` prints it as "then:" lines and
the loop uses it to skip a read when only the ledger and our check runs changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.config.model import Config
from bot.core import actions as act
from bot.core.decide import decide
from bot.core.ledger import Ledger
from bot.core.world import PullRequest
from bot.shell.read import Snapshot


def next_step(
    config: Config,
    snap: Snapshot,
    actions: Sequence[act.Action],
    now: datetime,
    gate_facts: dict[str, dict[str, Any]] | None = None,
) -> list[act.Action]:
    """For `plan`: what the following round would do if every action succeeded (merges
    clean, branches made, labels set, train PRs opened). Pure simulation; nothing is read
    or written."""
    records = {r.id: r for r in snap.ledger.records}
    branches = dict(snap.world.branches)
    pulls = dict(snap.world.pulls)
    opened: dict[str, int] = {}
    for action in actions:
        if isinstance(action, act.WriteLedger):
            records[action.record.id] = action.record
        elif isinstance(action, act.CreateBranch):
            branches[action.branch] = action.sha
        elif isinstance(action, act.OpenPullRequest):
            number = max(pulls, default=0) + 1
            pulls[number] = PullRequest(
                number, action.title, snap.world.bot_login, base=action.base,
                head_ref=action.head, head_sha=branches.get(action.head, ""), body=action.body,
            )  # fmt: skip
            opened[action.train_id] = number
        elif isinstance(action, act.AddLabel | act.RemoveLabel) and action.issue in pulls:
            pr = pulls[action.issue]
            labels = tuple(x for x in pr.labels if x != action.label)
            if isinstance(action, act.AddLabel):
                labels += (action.label,)
            pulls[action.issue] = replace(pr, labels=labels)
    for train_id, number in opened.items():
        if train_id in records and not records[train_id].train_pr:
            records[train_id] = replace(records[train_id], train_pr=number)
    ledger = Ledger(tuple(records.values()), snap.ledger.known_ids | set(records))
    world = replace(snap.world, branches=branches, pulls=pulls)
    return decide(config, ledger, world, now, gate_facts)
