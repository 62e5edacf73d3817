"""Hostile contributor, part 3: commands and markup that ride on the bot's own words. An
outsider's PR title reads like a command, a label name carries markup, and a release
manager quotes the bot's notice (which names `/train deboard`) in a reply: none of it is a
command, and none of it turns into markup or a marker in what the bot writes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import BOT, REPO, new_story, start_time

from bot.adapters.github import _KEY


def test_quoted_bot_text_and_command_like_titles_do_nothing(sandbox: Any) -> None:
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    kit.add_user("eve", {REPO: "read"})
    number = kit.open_pr(REPO, "eve", "evil", {"e.txt": "e\n"}, title="/train abort")
    kit.label(REPO, number, "<!-- release-train:key=x --> @everyone", actor="rm-dave")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="rm-dave")
    story.reconcile(t0)
    (notice,) = [c for c in story.comments(number) if c["user"]["login"] == BOT]
    quoted = "\n".join(f"> {line}" for line in notice["body"].splitlines())
    kit.comment(REPO, number, "rm-dave", f"{quoted}\n> /train abort\n\nthanks, leaving it be")
    story.reconcile(t0 + timedelta(seconds=10))
    story.reconcile(t0 + timedelta(minutes=2))  # departs with the PR on board

    body = story.open_train_pr()["body"]
    assert f"#{number}" in body and "/train abort" in body  # the title, as text
    assert not _KEY.search(body) and "@everyone" not in body
    replies = [c["body"] for c in story.comments(number) if c["user"]["login"] == BOT]
    assert not any("aborted" in r or "deboarded" in r or "left train" in r for r in replies)
