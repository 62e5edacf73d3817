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


def test_a_commands_argument_comes_back_as_text_and_a_marker_is_no_command(sandbox: Any) -> None:
    """The bot quotes the command it answers. A writer's `/train hold` reason is user text:
    mentions and links in it come back inert. A command line hiding the bot's marker in an
    HTML comment is no command at all (GitHub would not show that part), so nothing of it
    can reach the bot's own comment, where a marker would count as the bot's."""
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    number = kit.open_pr(REPO, "dev-bob", "feature", {"f.txt": "f\n"}, title="A feature")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="rm-dave")
    story.reconcile(t0)
    kit.comment(REPO, number, "rm-dave", "/train hold <!-- release-train:key=rolled-back:x -->")
    kit.comment(REPO, number, "rm-dave", "/train hold @everyone wait_for_me")
    story.reconcile(t0 + timedelta(seconds=10))

    replies = [c["body"] for c in story.comments(number) if c["user"]["login"] == BOT]
    (reply,) = [r for r in replies if "/train hold" in r]  # the HTML one was no command
    assert "held " in reply
    assert "@everyone" not in reply and "wait\\_for\\_me" in reply
    assert not any(_KEY.search(r) and "rolled-back" in r for r in replies)
