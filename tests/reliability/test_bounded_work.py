"""Bounded work per untrusted input (issue 27, item 4): a flood of `/train` lines in one
comment, or many comments from one user, costs the bot a bounded number of writes; only
commands GitHub shows as top-level paragraph lines count (item 6). The real bot against
the sandbox over HTTP; writes are counted in the sandbox's request log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lifecycle_sandbox import REPO
from scenario import Run, all_comments, board, ledger_records, play

from bot.core.chatops import MAX_PER_COMMENT, MAX_PER_USER
from bot.sandbox.runner import Sandbox

pytestmark = pytest.mark.reliability

BOT = "release-train[bot]"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def _writes_since(sandbox: Sandbox, mark: int) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _, _ in sandbox.server.request_log[mark:] if m in WRITES]


def _reactions(run: Run, comment_id: int) -> list[str]:
    rows = run.story.sandbox.server.store.where("reactions", comment_id=comment_id)
    return [str(r["content"]) for r in rows]


def _bot_replies(run: Run, pr: int) -> list[str]:
    return [c["body"] for c in all_comments(run)[pr] if c["user"]["login"] == BOT]


@pytest.mark.parametrize("user", ["reader-erin", "dev-bob", "rm-dave"])
@pytest.mark.parametrize(("joint", "answered"), [("\n\n", MAX_PER_COMMENT), ("\n", 0)])
def test_a_5000_line_command_comment_costs_a_bounded_number_of_writes(
    sandbox: Sandbox, user: str, joint: str, answered: int
) -> None:
    """5,000 paragraphs of `/train hold`: five are answered; one 5,000-line paragraph: too
    long to hold a command. Either way one reply, one reaction, a handful of writes."""
    run = play(sandbox, phases=[("board", board)])
    pr = run.prs["a"]
    before = len(_bot_replies(run, pr))
    flood = joint.join(["/train hold"] * 5000)
    assert len(flood) < 65_536  # GitHub's comment limit
    comment = run.kit.comment(REPO, pr, user, flood)
    mark = len(sandbox.server.request_log)
    run.settle(run.t0 + timedelta(seconds=30))
    writes = _writes_since(sandbox, mark)
    replies = _bot_replies(run, pr)[before:]
    assert len(replies) == 1, replies
    ignored = 5000 - answered
    assert f"{ignored} more `/train` commands in this comment were ignored" in replies[0]
    assert replies[0].count(f"@{user}") == answered + 1
    assert len(_reactions(run, comment)) == 1
    # one reply, one reaction, the ledger write that marks the comment handled
    assert len(writes) <= 8, writes


def test_one_users_many_comments_are_spread_over_reconciles(sandbox: Sandbox) -> None:
    run = play(sandbox, phases=[("board", board)])
    pr = run.prs["a"]
    ids = [run.kit.comment(REPO, pr, "dev-bob", "/train status\n/train status") for _ in range(8)]
    first = run.reconcile(run.t0 + timedelta(seconds=30))
    assert first.actions_planned
    answered = [i for i in ids if _reactions(run, i)]
    assert len(answered) == MAX_PER_USER // 2  # two commands per comment
    run.settle(run.t0 + timedelta(seconds=40))
    assert all(len(_reactions(run, i)) == 1 for i in ids)


HIDDEN = [
    "<!--\n/train abort\n-->",
    "<details>\n<summary>notes</summary>\n\n/train abort\n\n</details>",
    "```\n/train abort\n```",
    "> /train abort",
    "| cmd |\n|---|\n| /train abort |",
    "- /train abort",
    "see <!-- hidden\n/train abort\n--> this",
    "`/train abort`",
]


@pytest.mark.parametrize("body", HIDDEN)
def test_a_command_github_does_not_show_is_not_run(sandbox: Sandbox, body: str) -> None:
    run = play(sandbox, phases=[("board", board)])
    pr = run.prs["a"]
    comment = run.kit.comment(REPO, pr, "rm-dave", body)
    run.settle(run.t0 + timedelta(seconds=30))
    assert {r["state"] for r in ledger_records(run).values()} == {"boarding"}
    assert _reactions(run, comment) == []


def test_a_visible_command_after_hidden_ones_is_run(sandbox: Sandbox) -> None:
    run = play(sandbox, phases=[("board", board)])
    pr = run.prs["a"]
    body = "<details>\n\n/train resume\n\n</details>\n\nThanks!\n/train abort flaky"
    comment = run.kit.comment(REPO, pr, "rm-dave", body)
    run.settle(run.t0 + timedelta(seconds=30))
    aborted = [r for r in ledger_records(run).values() if r["state"] == "aborted"]
    assert [r["end_reason"] for r in aborted] == ["flaky"]
    assert _reactions(run, comment) == ["+1"]
