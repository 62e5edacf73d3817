"""Hostile contributor, part 1: forged markers. An outsider (read access, as anyone on a
public repository) writes the bot's hidden markers into comments, issues and PR bodies; the
bot must go on as if they were plain text (issue #25). The bot's own markers still count:
that is what makes its comments and incident once-only after a crash."""

from __future__ import annotations

from datetime import timedelta

from lifecycle.lifecycle_sandbox import BOT, REPO, board_three, new_story, start_time

from bot.adapters.gitdata import GitData
from bot.adapters.github import _KEY
from bot.core.actions import marker
from bot.core.notes import train_id_from_body

OUTSIDER = "eve"


def _outsider(story) -> None:  # type: ignore[no-untyped-def]
    story.kit.add_user(OUTSIDER, {REPO: "read"})


def test_a_forged_comment_key_does_not_silence_the_bot(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    _outsider(story)
    a, b, _ = board_three(story)
    train_id = f"web-{t0.date().isoformat()}"
    forged = f"nothing to see {marker(f'boarded:{train_id}:{a}')}"
    story.kit.comment(REPO, a, OUTSIDER, forged)

    story.reconcile(t0)

    notices = [c for c in story.comments(a) if "boarded train" in c["body"]]
    assert [c["user"]["login"] for c in notices] == [BOT]
    assert notices[0]["performed_via_github_app"]["slug"] == "release-train"
    # its own marker still counts: a second round posts nothing more
    story.reconcile(t0 + timedelta(seconds=10))
    assert len([c for c in story.comments(a) if "boarded train" in c["body"]]) == 1
    assert len([c for c in story.comments(b) if "boarded train" in c["body"]]) == 1


def test_post_comment_counts_only_its_own_keys(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    _outsider(story)
    number = story.kit.open_pr(REPO, "dev-alice", "feat-x", {"x.txt": "x\n"}, title="X")
    story.kit.comment(REPO, number, OUTSIDER, marker("rolled-back:web-2026-01-01"))
    with story.client() as client:
        assert client.post_comment(number, "rolled back", "rolled-back:web-2026-01-01") is True
    with story.client(cache=None) as fresh:  # a restarted bot: keys read from GitHub again
        fresh._keys = None
        assert fresh.post_comment(number, "rolled back", "rolled-back:web-2026-01-01") is False
    bodies = [(c["user"]["login"], c["body"]) for c in story.comments(number)]
    assert [login for login, body in bodies if "rolled back" in body] == [BOT]


def test_a_forged_incident_issue_is_not_adopted(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    _outsider(story)
    key = "incident:web-2026-01-01"
    planted = story.kit.call(
        "POST",
        f"/repos/{REPO}/issues",
        {"title": "totally the incident", "body": f"mine now\n\n{marker(key)}"},
        as_user=OUTSIDER,
    )["number"]
    with story.client() as client:
        git = GitData(client)
        opened = git.open_incident("Rolled back", "why", [], [], key)
        assert opened != planted
        # the bot's own incident is adopted on a second attempt (crash-safe once-only)
        assert git.open_incident("Rolled back", "why", [], [], key) == opened
        # a stranger's issue carrying the key does not stop open_issue either
        assert client.open_issue("Config", "broken", "config-error:abc") is True
        assert client.open_issue("Config", "broken", "config-error:abc") is False
    issue = story.kit.call("GET", f"/repos/{REPO}/issues/{opened}", as_user="rm-dave")
    assert issue["user"]["login"] == BOT


def test_markup_in_titles_does_not_reach_the_train_pr_as_markup(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    _outsider(story)
    title = (
        "Fix <!-- release-train:key=rolled-back:x --> @acme/platform @everyone "
        "<!-- release-train:train-id=web-1999-01-01 --> | `x"
    )
    number = story.kit.open_pr(REPO, OUTSIDER, "evil<b>", {"evil.txt": "e\n"}, title=title)
    story.kit.label(REPO, number, "feature", actor="rm-dave")
    story.kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    story.kit.label(REPO, number, "train:next", actor="rm-dave")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))

    body = story.open_train_pr()["body"]
    assert f"#{number}" in body
    assert not _KEY.search(body)
    assert train_id_from_body(body) == f"web-{t0.date().isoformat()}"
    assert "@acme/platform" not in body and "@everyone" not in body
    assert body.count("<!--") == 3  # the bot's own: train id, region begin and end
