"""What a revert costs, counted in the sandbox's request log: per branch the tip is read
once and the ref moves once (the per-step revert commits are chained), the ledger is
written once, the incident is opened without listing issues and the check run is updated
without a lookup. A revert of a train that made no bump writes nothing to the base branch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.sandbox.faults import FaultPlan, install, uninstall

M = timedelta(minutes=1)
LEDGER_REF = "/git/refs/heads/release-train/ledger"


def _rollback(m: Merged, at_minutes: int) -> list[tuple[str, str, int, float]]:
    """`/train rollback` answered at `merged_at + at_minutes`: the revert's requests, from
    its first read of the base branch to its last write."""
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    mark = m.story.log_mark()
    assert m.story.reconcile(m.merged_at + at_minutes * M).problems == ()
    # the Release's own requests (read it, the annotated tag, publish it) are not the revert's
    log = [r for r in m.story.sandbox.server.request_log[mark:] if not _release(r[1])]
    first = next(i for i, r in enumerate(log) if r[1].endswith("/branches/main"))
    last = max(i for i, r in enumerate(log) if r[0] != "GET")
    return log[first : last + 1]


def _release(path: str) -> bool:
    return (
        "/releases" in path or "/git/ref/tags/" in path or path.endswith(("/git/tags", "/git/refs"))
    )


def _git(log: list[tuple[str, str, int, float]]) -> list[tuple[str, str]]:
    return [(r[0], r[1].rsplit("/", 1)[0]) for r in log if "/git/" in r[1] or "/branches/" in r[1]]


def test_a_two_step_revert_reads_the_tip_once_and_moves_each_ref_once(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)
    m.story.reconcile(m.merged_at + 11 * M)  # staging passed, canary committed
    log = _rollback(m, 12)
    assert m.record()["state"] == "rolled_back"
    reverts = [b.split("\n")[0] for _, b in m.main_log() if b.startswith("revert ")]
    assert reverts == [f"revert {m.train_id} staging", f"revert {m.train_id} canary"]

    git = _git(log)
    main = [g for g in git if not g[1].endswith("release-train")]
    assert main[0] == ("GET", f"/repos/{REPO}/branches")  # one read of the tip
    assert [g for g in git if g[0] == "GET"] == [main[0]]
    assert main.count(("PATCH", f"/repos/{REPO}/git/refs/heads")) == 1  # one ref update
    assert [r for r in log if r[1].endswith(LEDGER_REF)] == [
        r for r in log if r[0] == "PATCH" and r[1].endswith(LEDGER_REF)
    ]
    assert len([r for r in log if r[1].endswith(LEDGER_REF)]) == 1  # one ledger commit
    # Git and ledger: 1 read + 2 trees + 2 commits + 1 ref, and the ledger's 3 writes
    assert len(git) == 9
    # no issue listing (the chain moved the ref: no earlier attempt opened the incident),
    # no check-run lookup (its id is in the record)
    assert not [r for r in log if r[0] == "GET" and r[1].endswith("/issues")]
    assert not [r for r in log if r[0] == "GET" and r[1].endswith("/check-runs")]
    # the rest: 2 deployment statuses, the incident, the comment (+ its dedupe read), the
    # stage table, the check run, and the riding PR's files (the incident's suspects)
    assert len([r for r in log if r[1].endswith("/files")]) == 1
    assert len(log) == 17, log


def test_a_one_step_revert_costs_seven_git_and_ledger_requests(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)  # staging committed
    log = _rollback(m, 2)
    assert len(_git(log)) == 7
    # no check-run lookup: the train's first ledger write already kept the run's id
    assert len(log) == 14, log  # 13 + the riding PR's files (the incident's suspects)


def test_a_lost_ledger_write_converges_with_one_incident_and_no_second_revert(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The revert's commits, statuses, incident and comment are made, its ledger write
    fails: the next round finds the files reverted (no new commit), looks the incident up
    by its marker and adopts it, comments nothing twice, and records the train rolled back."""
    m = merged_train(sandbox)
    m.story.reconcile(m.merged_at)
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    # the round's first ledger write (the request) lands, the revert's never does
    ledger = f"PATCH /repos/{REPO}{LEDGER_REF}"
    install(sandbox.server, FaultPlan(script={(ledger, n): 500 for n in range(1, 10)}))
    try:
        failed = m.story.reconcile(m.merged_at + 1 * M)
    finally:
        uninstall(sandbox.server)
    assert failed.problems and m.record()["state"] == "promoting"
    assert len(_incidents(m)) == 1 and len(_reverts(m)) == 1

    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    record = m.record()
    assert record["state"] == "rolled_back"
    (incident,) = _incidents(m)
    assert record["extra"]["promotion"]["incident"] == incident["number"]
    assert len(_reverts(m)) == 1  # the files were already reverted: no second commit
    notes = [c for c in m.story.comments(m.train_pr) if "rolled back" in c["body"]]
    assert len(notes) == 1
    mark = m.story.log_mark()
    m.story.reconcile(m.merged_at + 3 * M)
    assert m.story.writes_since(mark) == []


def _incidents(m: Merged) -> list[dict[str, Any]]:
    issues = m.kit.call("GET", f"/repos/{REPO}/issues?state=all&per_page=100", as_user="rm-dave")
    return [i for i in issues if "pull_request" not in i and "rolled back" in i["title"]]


def _reverts(m: Merged) -> list[str]:
    return [b for _, b in m.main_log() if b.startswith("revert ")]


def test_a_train_that_made_no_bump_reverts_as_a_recorded_no_op(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The first stage failed before writing anything; `/train rollback` then commits
    nothing, holds the services, opens the incident and records the train rolled back."""
    m = merged_train(sandbox)
    m.kit.push(REPO, "main", {"deploy/staging/web.yaml": None}, "remove", "dev-bob")
    m.story.reconcile(m.merged_at)
    assert "matches no file" in m.record()["extra"]["promotion"]["error"]
    main_before = m.main_log()[0][0]
    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    mark = m.story.log_mark()
    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    record = m.record()
    assert record["state"] == "rolled_back"
    assert m.main_log()[0][0] == main_before  # nothing committed, nothing reverted
    writes = m.story.writes_since(mark)
    assert not [w for w in writes if w[1].endswith("/git/refs/heads/main")]
    assert len([w for w in writes if w[1].endswith("/git/commits")]) == 2  # request, revert
    assert "rolled-back" in [e["event"] for e in record["history"]]
    (incident,) = _incidents(m)
    assert "none (no bump was made)" in incident["body"]


def test_a_bump_whose_ledger_write_was_lost_is_still_reverted(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The staging bump lands on `main`, the ledger never hears of it (the bot dies, here:
    every ledger write refused): the next round finds the files at the tags, takes the
    tags they replaced from its own commit's `Bump:` trailers, and a rollback restores
    them (no `tag -> tag` bump that nothing reverts)."""
    from bot.sandbox.http import Response

    m = merged_train(sandbox)
    server = sandbox.server
    bumped = [False]

    def refuse_the_ledger_after_the_bump(ctx: Any) -> Response | None:
        if ctx.method == "PATCH" and ctx.path.endswith("/git/refs/heads/main"):
            bumped[0] = True
        elif bumped[0] and ctx.method == "PATCH" and ctx.path.endswith(LEDGER_REF):
            return Response(500, {"message": "Server Error"})
        return None

    server.before_request = refuse_the_ledger_after_the_bump
    try:
        assert m.story.reconcile(m.merged_at).problems != ()
    finally:
        server.before_request = None
    assert bumped[0] and "ghcr.io/acme/web:1.0.0" not in m.main_file("deploy/staging/web.yaml")
    assert "promotion" not in m.record()["extra"]  # the ledger knows of no bump

    m.story.reconcile(m.merged_at + 1 * M)  # the rerun records the bump it finds
    staging = m.record()["extra"]["promotion"]["steps"][0]
    assert staging["status"] == "soaking" and staging["commit"]
    assert all(b[1] != b[2] for b in staging["bumps"]), staging["bumps"]
    assert {b[0]: b[1] for b in staging["bumps"]} == {"web": "1.0.0", "api": "2.0.0"}

    m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
    assert m.story.reconcile(m.merged_at + 2 * M).problems == ()
    assert m.record()["state"] == "rolled_back"
    assert "ghcr.io/acme/web:1.0.0" in m.main_file("deploy/staging/web.yaml")
    assert 'image: "ghcr.io/acme/api:2.0.0"' in m.main_file("deploy/staging/web.yaml")
