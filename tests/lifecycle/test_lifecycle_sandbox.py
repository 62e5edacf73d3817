"""The real bot against the sandbox over HTTP: boarding, departure, train PR, merge."""

from __future__ import annotations

import threading
from datetime import timedelta

from lifecycle_sandbox import REPO, board_three, config_text, new_story, start_time

from bot.core.ledger import parse_commit_message
from bot.core.notes import BEGIN, END, train_id_from_body


def test_board_depart_merge_and_idempotence(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, b, c = board_three(story)

    first = story.reconcile(t0)
    (train_id,) = _train_ids(story)
    record = story.ledger(train_id)
    assert record["state"] == "boarding"
    assert [x["number"] for x in record["boarded"]] == [a, b, c]
    for number in (a, b, c):
        notices = [x for x in story.comments(number) if "boarded train" in x["body"]]
        assert len(notices) == 1 and train_id in notices[0]["body"]
        assert "/train deboard" in notices[0]["body"]
    assert first.actions_done

    mark = story.log_mark()
    assert story.reconcile(t0 + timedelta(seconds=10)).actions_done == ()
    assert story.writes_since(mark) == []

    # departure at the next cadence time
    departed = story.reconcile(t0 + timedelta(minutes=2))
    assert departed.problems == ()
    record = story.ledger(train_id)
    assert record["state"] == "departed"
    assert [x["number"] for x in record["boarded"]] == [a, b]
    assert [(m["number"], m["reason"]) for m in record["missed"]] == [(c, "conflict")]
    missed = [x for x in story.comments(c) if "missed train" in x["body"]]
    assert len(missed) == 1 and "merge conflict" in missed[0]["body"]

    train_pr = story.open_train_pr()
    assert train_pr["number"] == record["train_pr"]
    assert train_pr["title"] == f"Release train {train_id}"
    body = train_pr["body"]
    assert f"release-train:train-id={train_id}" in body and BEGIN in body and END in body
    features = body.split("### Features")[1].split("###")[0]
    fixes = body.split("### Fixes")[1].split("###")[0]
    assert f"#{a} Add A (`@dev-alice`)" in features and f"#{b} Fix B (`@dev-bob`)" in fixes
    assert f"#{c}: merge conflict" in body
    assert "ghcr.io/acme/web:" in body and "production (soak 1h)" in body

    # a human edit outside the generated region survives a regeneration
    edited = "QA: please test checkout\n\n" + body
    story.kit.call(
        "PATCH", f"/repos/{REPO}/pulls/{train_pr['number']}", {"body": edited}, as_user="rm-dave"
    )

    # each gate shows as a check run on the train PR head; green CI updates its run and the
    # ledger records the ci gate's transition
    story.green(train_pr["head"]["sha"])
    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=3))
    ci_run = _runs(story, train_pr)["release-train/ci"]
    assert [w[:2] for w in story.writes_since(mark)] == [
        ("PATCH", f"/repos/{REPO}/check-runs/{ci_run['id']}"),
        ("POST", f"/repos/{REPO}/git/trees"),
        ("POST", f"/repos/{REPO}/git/commits"),
        ("PATCH", f"/repos/{REPO}/git/refs/heads/release-train/ledger"),
    ]
    assert "Event: gate" in story.ledger_log()[0] and ci_run["conclusion"] == "success"
    gates = [e["detail"] for e in story.ledger(train_id)["history"] if e["event"] == "gate"]
    assert gates[-1].startswith("ci=success: ")
    # not approved yet: nothing else to do, and a second look writes nothing
    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=3, seconds=10))
    assert story.writes_since(mark) == []
    runs = _runs(story, train_pr)
    assert sorted(runs) == ["ci", *(f"release-train/{g}" for g in sorted(GATES))]
    assert runs["release-train/policy"]["conclusion"] != "success"
    assert runs["release-train/security"]["conclusion"] == "neutral"
    assert "code scanning" in runs["release-train/security"]["output"]["summary"]

    # a developer asks for the status (its permission is read), a release manager approves:
    # the approval still counts
    story.kit.comment(REPO, train_pr["number"], "dev-alice", "/train status")
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    merged = story.reconcile(t0 + timedelta(minutes=4))
    assert merged.problems == ()
    record = story.ledger(train_id)
    assert record["state"] == "merged" and record["approved_by"] == ["rm-dave"]
    status = [c["body"] for c in story.comments(train_pr["number"]) if "@dev-alice" in c["body"]]
    assert len(status) == 1 and "is `departed`" in status[0]
    assert story.pull(train_pr["number"])["merged"] is True
    message = sandbox.git.out(REPO, "log", "-1", "--format=%B", record["merge_sha"])
    assert message.startswith(f"Release train {train_id} (#{train_pr['number']})")
    assert f"Train-Id: {train_id}" in message and "Approved-By: rm-dave" in message
    assert f"Boarded: #{a} #{b}" in message and "Gates: ci=success" in message
    for number in (a, b):
        assert story.pull(number)["state"] == "closed"
        assert any("Shipped in release train" in x["body"] for x in story.comments(number))
    assert story.pull(c)["state"] == "open"

    # the ledger tells the story, one commit per transition, linear
    log = story.ledger_log()
    events = [parse_commit_message(entry.split("\x00", 1)[1])[0] for entry in log]
    assert events[-1] in ("create", "board", "notify") and "depart" in events
    assert all(len(entry.split("\x00")[0].split()) <= 2 for entry in log)

    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=5))
    assert story.writes_since(mark) == []
    assert "QA: please test checkout" in story.pull(train_pr["number"])["body"]


def test_no_merge_outside_the_window_nor_in_a_freeze(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, _, _ = board_three(story)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))

    later = t0 + timedelta(minutes=3)
    start = (later + timedelta(hours=2)).strftime("%H:%M")
    end = (later + timedelta(hours=3)).strftime("%H:%M")
    story.set_config(config_text(t0, window=(start, end)))
    story.reconcile(later)
    assert story.pull(train_pr["number"])["state"] == "open"

    story.set_config(config_text(t0, freeze=later.date().isoformat()))
    story.reconcile(later)
    assert story.pull(train_pr["number"])["state"] == "open"

    story.set_config(config_text(t0))
    story.reconcile(later)
    assert story.pull(train_pr["number"])["merged"] is True
    assert story.pull(a)["state"] == "closed"


def test_chatops_with_and_without_permission(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, _, _ = board_three(story)
    story.reconcile(t0)
    kit = story.kit
    denied = kit.comment(REPO, a, "dev-bob", "/train hold")
    quoted = kit.comment(REPO, a, "rm-dave", "> /train abort\n```\n/train abort\n```")
    held = kit.comment(REPO, a, "rm-dave", "/train hold waiting for QA")
    status = kit.comment(REPO, a, "dev-alice", "/train status")
    story.reconcile(t0 + timedelta(seconds=5))

    replies = {c["body"].split("\n")[0]: c["body"] for c in story.comments(a)}
    assert any("needs maintain or admin permission" in body for body in replies.values())
    assert any("held web-" in body for body in replies.values())
    assert any(
        "is `boarding` (held)" in body or "is `boarding`" in body for body in replies.values()
    )
    assert not any(
        "abort" in body and "@rm-dave" in body and "aborted" in body for body in replies.values()
    )
    (train_id,) = _train_ids(story)
    record = story.ledger(train_id)
    assert record["held"] is True and record["hold_reason"] == "waiting for QA"
    assert set(record["handled_comments"]) == {denied, held, status}
    assert quoted not in record["handled_comments"]
    reactions = kit.call(
        "GET", f"/repos/{REPO}/issues/comments/{held}/reactions", as_user="rm-dave"
    )
    assert [r["content"] for r in reactions] == ["+1"]

    # held: no departure; handled once: a second pass writes nothing
    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=3))
    assert story.writes_since(mark) == []
    assert story.ledger(train_id)["state"] == "boarding"


def _train_ids(story) -> list[str]:  # type: ignore[no-untyped-def]
    out = story.sandbox.git.out(
        REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
    )
    return [line.split("/")[-1].removesuffix(".json") for line in out.split()]


def test_deadline_expiry_aborts_and_frees_the_prs(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0, config_text(t0, departed="1h"))
    a, b, _ = board_three(story)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    train_id = train_id_from_body(train_pr["body"])
    assert train_id is not None

    story.reconcile(t0 + timedelta(hours=2))
    record = story.ledger(train_id)
    assert record["state"] == "aborted" and record["end_reason"] == "deadline"
    assert story.pull(train_pr["number"])["state"] == "closed"
    assert any("aborted: deadline" in c["body"] for c in story.comments(train_pr["number"]))
    # its PRs board the next train
    others = [story.ledger(i) for i in _train_ids(story) if i != train_id]
    assert any({a, b} <= {x["number"] for x in r["boarded"]} for r in others)


def test_two_reconcilers_racing_leave_one_train_and_a_linear_ledger(sandbox) -> None:  # type: ignore[no-untyped-def]
    from bot.adapters.github import ResponseCache

    t0 = start_time()
    story = new_story(sandbox, t0)
    a, b, c = board_three(story)
    errors: list[BaseException] = []

    def run(at) -> None:  # type: ignore[no-untyped-def]
        try:
            story.reconcile(at, cache=ResponseCache())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    for at in (t0, t0 + timedelta(minutes=2)):
        threads = [threading.Thread(target=run, args=(at,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    records = [story.ledger(i) for i in _train_ids(story)]
    departed = [r for r in records if r["state"] == "departed"]
    assert len(departed) == 1 and [x["number"] for x in departed[0]["boarded"]] == [a, b]
    # the PR that missed (a conflict) rides the next train, alone
    assert [[x["number"] for x in r["boarded"]] for r in records if r["state"] == "boarding"] == [
        [c]
    ]
    log = story.ledger_log()
    parents = [entry.split("\x00")[0].split()[1:] for entry in log]
    assert all(len(p) <= 1 for p in parents) and sum(1 for p in parents if not p) == 1
    pulls = story.kit.call("GET", f"/repos/{REPO}/pulls?state=all", as_user="rm-dave")
    assert sum(1 for p in pulls if p["head"]["ref"].startswith("release/")) == 1


def test_label_removed_or_pr_closed_deboards_and_emergency_departs_at_once(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, b, c = board_three(story)
    story.reconcile(t0)
    (train_id,) = _train_ids(story)
    story.kit.unlabel(REPO, a, "train:next")
    story.kit.call("PATCH", f"/repos/{REPO}/pulls/{b}", {"state": "closed"}, as_user="dev-bob")
    story.reconcile(t0 + timedelta(seconds=5))
    assert [x["number"] for x in story.ledger(train_id)["boarded"]] == [c]

    hot = story.kit.open_pr(REPO, "dev-alice", "hotfix", {"hot.txt": "fix\n"}, title="Hotfix")
    story.kit.review(REPO, hot, "rev-carol", "APPROVE")
    story.green(story.pull(hot)["head"]["sha"])
    story.kit.label(REPO, hot, "train:emergency", actor="rm-dave")
    story.reconcile(t0 + timedelta(seconds=10))
    emergency = [i for i in _train_ids(story) if i != train_id]
    assert len(emergency) == 1 and emergency[0].endswith(".2")
    record = story.ledger(emergency[0])
    assert record["emergency"] is True and record["state"] == "departed"
    train_pr = next(
        p
        for p in story.kit.call("GET", f"/repos/{REPO}/pulls?state=open", as_user="rm-dave")
        if p["head"]["ref"] == f"release/{emergency[0]}"
    )
    assert "Emergency train" in train_pr["body"]
    # the emergency policy wants two approvals
    story.green(train_pr["head"]["sha"])
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(seconds=15))
    story.reconcile(t0 + timedelta(seconds=20))
    assert story.pull(train_pr["number"])["state"] == "open"
    story.approve(train_pr["number"], "rev-carol", t0 + timedelta(seconds=25))
    story.reconcile(t0 + timedelta(seconds=30))
    assert story.pull(train_pr["number"])["merged"] is True
    assert story.ledger(train_id)["state"] == "boarding"  # the regular train is untouched


def test_release_team_members_may_hold(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    text = config_text(t0) + "chatops:\n  release_team: developers\n"
    story = new_story(sandbox, t0, text)
    a, _, _ = board_three(story)
    story.reconcile(t0)
    story.kit.comment(REPO, a, "dev-bob", "/train hold")  # write, but in acme/developers
    story.kit.comment(REPO, a, "rev-carol", "/train abort")  # write, not in the team
    story.reconcile(t0 + timedelta(seconds=5))
    (train_id,) = _train_ids(story)
    record = story.ledger(train_id)
    assert record["held"] is True and record["state"] == "boarding"
    denial = [c["body"] for c in story.comments(a) if "@rev-carol" in c["body"]]
    assert len(denial) == 1 and "`developers` team" in denial[0]


def test_boarding_follows_the_order_of_labelling(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    numbers = [
        kit.open_pr(REPO, "dev-alice", f"order-{i}", {f"o{i}.txt": "x\n"}, title=f"O{i}")
        for i in range(3)
    ]
    real_clock = sandbox.server.clock
    try:
        for offset, number in enumerate((numbers[2], numbers[0], numbers[1])):
            at = t0 - timedelta(minutes=10 - offset)
            sandbox.server.clock = lambda at=at: at
            kit.label(REPO, number, "train:next", actor="dev-alice")
    finally:
        sandbox.server.clock = real_clock
    story.reconcile(t0)
    (train_id,) = _train_ids(story)
    boarded = story.ledger(train_id)["boarded"]
    assert [x["number"] for x in boarded] == [numbers[2], numbers[0], numbers[1]]


def test_deleted_release_branch_or_closed_train_pr_ends_the_train(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, b, _ = board_three(story)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    train_id = train_id_from_body(train_pr["body"])
    story.kit.call("DELETE", f"/repos/{REPO}/git/refs/heads/release/{train_id}", as_user="rm-dave")
    result = story.reconcile(t0 + timedelta(minutes=3))
    assert result.problems == ()
    record = story.ledger(str(train_id))
    assert record["state"] == "aborted"
    assert record["end_reason"] in ("release branch deleted", "train PR closed by hand")
    assert story.pull(train_pr["number"])["state"] == "closed"
    others = [story.ledger(i) for i in _train_ids(story) if i != train_id]
    assert any({a, b} <= {x["number"] for x in r["boarded"]} for r in others)


GATES = ("ci", "security", "manifests", "policy", "error-budget")


def _runs(story, train_pr) -> dict:  # type: ignore[no-untyped-def]
    """Our newest check run of each name on the train PR head."""
    sha = story.pull(train_pr["number"])["head"]["sha"]
    out = story.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    return {r["name"]: r for r in sorted(out["check_runs"], key=lambda r: r["id"])}
