"""Bug E: a configuration that cannot be read (5xx on the contents read) is a recorded
GitHub problem, not a crash and not "invalid"; and the parsed configuration is cached by
blob sha, read with a conditional request."""

from __future__ import annotations

from lifecycle.lifecycle_sandbox import REPO, config_text, new_story, start_time

from bot.config.repo import ConfigCache, load_repo_config
from bot.sandbox import faults
from bot.sandbox.faults import FaultPlan

CONTENTS = f"GET /repos/{REPO}/contents/*"


def _issues(story) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    path = f"/repos/{REPO}/issues?state=all&per_page=100"
    return list(story.kit.call("GET", path, as_user="rm-dave"))


def test_an_unreadable_config_is_a_github_problem_not_a_config_error(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    number = story.kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    story.kit.label(REPO, number, "train:next", actor="dev-alice")
    injector = faults.install(sandbox.server, FaultPlan(per_endpoint={CONTENTS: 1.0}, kinds=(503,)))
    try:
        mark = story.log_mark()
        result = story.reconcile(t0)  # raises nothing
    finally:
        faults.uninstall(sandbox.server)
    assert injector.injected, "the contents read was faulted"
    assert len(result.problems) == 1
    problem = result.problems[0]
    # a GitHub problem (transports retry it), naming no path (not "no config")
    assert problem.startswith("GitHub: the configuration could not be read (503)")
    assert ".github/release-train.yml" not in problem
    assert result.actions_done == () and result.trains == ()
    assert story.writes_since(mark) == []  # no comment, no issue, no ledger
    assert not [i for i in _issues(story) if "invalid configuration" in i["title"]]
    # the next reconcile, GitHub healthy again, boards the PR as usual
    again = story.reconcile(t0)
    assert again.problems == () and any("board" in a for a in again.actions_done)


def test_the_parsed_config_is_cached_by_blob_sha_and_read_conditionally(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    cache = ConfigCache(size=2)
    with story.client() as client:
        first = load_repo_config(client, repo=REPO, cache=cache)
        mark = story.log_mark()
        second = load_repo_config(client, repo=REPO, cache=cache)
        assert second is first  # not parsed nor validated again
        reads = [r for r in sandbox.server.request_log[mark:] if "/contents/" in r[1]]
        assert [r[2] for r in reads] == [304]  # one conditional request
    story.set_config(config_text(t0, departed="3h"))
    with story.client() as client:
        changed = load_repo_config(client, repo=REPO, cache=cache)
    assert changed is not None and first is not None and changed is not first
    assert changed.train("web").deadline("departed") != first.train("web").deadline("departed")


def test_a_changed_extended_policy_is_read_again(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    text = "extends: policies/team.yml\n" + config_text(t0)
    story = new_story(sandbox, t0, text)
    story.kit.push(
        REPO, "main", {"policies/team.yml": "ledger:\n  branch: ledger-a\n"}, "p", "rm-dave"
    )
    cache = ConfigCache()
    with story.client() as client:
        first = load_repo_config(client, repo=REPO, cache=cache)
        assert first is not None and first.ledger_branch == "ledger-a"
        assert load_repo_config(client, repo=REPO, cache=cache) is first
        story.kit.push(
            REPO, "main", {"policies/team.yml": "ledger:\n  branch: ledger-b\n"}, "p", "rm-dave"
        )
        later = load_repo_config(client, repo=REPO, cache=cache)
    assert later is not None and later.ledger_branch == "ledger-b"
