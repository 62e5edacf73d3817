"""`audit verify` over real git repositories: an honest story passes; each kind of tampering
(dropped commits by a force-push, an edited ledger file, forged trailers, a hand-made bump, a
merge in the ledger) is reported with the commit it concerns."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from ledger_repo import LEDGER_REF, LedgerRepo, merged_train, story

from bot.core.ledger import encode
from bot.insights.gitlog import read_history
from bot.insights.verify import Finding, verify


def _findings(repo: LedgerRepo) -> list[Finding]:
    return list(verify(read_history(repo.path)))


def _rewrite_without(repo: LedgerRepo, drop: str) -> dict[str, str]:
    """Rebuild the ledger without commit `drop` (same trees, messages), force-moving the ref
    like a force-push would. Answers old sha -> new sha."""
    shas = repo.git("rev-list", "--reverse", LEDGER_REF).split()
    parent = ""
    mapping: dict[str, str] = {}
    for sha in shas:
        if sha == drop:
            continue
        tree = repo.git("rev-parse", f"{sha}^{{tree}}")
        message = repo.git("log", "-1", "--format=%B", sha) + "\n"
        args = ["-p", parent] if parent else []
        parent = repo.git("commit-tree", tree, *args, "-F", "-", stdin=message)
        mapping[sha] = parent
    repo.git("update-ref", LEDGER_REF, parent)
    return mapping


def test_an_honest_history_has_no_findings(tmp_path: Path) -> None:
    repo, _ = story(tmp_path / "repo")
    assert _findings(repo) == []


def test_dropped_commit_in_the_middle_breaks_the_state_path(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    _, shas = merged_train(repo, "web-2026-03-02")
    mapping = _rewrite_without(repo, shas["depart"])
    findings = _findings(repo)
    assert [(f.kind, f.commit) for f in findings] == [
        ("invalid-transition", mapping[shas["merge"]])
    ]
    assert "boarding -> merged" in findings[0].message


def test_force_push_dropping_the_tip_leaves_base_commits_without_events(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    _, shas = merged_train(repo, "web-2026-03-02")
    repo.git("update-ref", LEDGER_REF, shas["depart"])  # the merge event is gone
    findings = _findings(repo)
    assert [(f.kind, f.commit, f.branch) for f in findings] == [
        ("missing-event", shas["merge_commit"], "base")
    ]


def test_dropped_creation_commit_is_missing_history(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    _, shas = merged_train(repo, "web-2026-03-02")
    mapping = _rewrite_without(repo, shas["board"])
    kinds = {(f.kind, f.commit) for f in _findings(repo)}
    assert ("missing-history", mapping[shas["depart"]]) in kinds


def test_edited_ledger_file_by_a_plain_commit(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    forged = encode(replace(record, approved_by=("mallory",)))
    sha = repo.raw_ledger_commit({record.path: forged}, "fix typo\n")
    findings = _findings(repo)
    assert [(f.kind, f.commit) for f in findings] == [("not-a-ledger-event", sha)]
    assert record.path in findings[0].message


def test_file_that_does_not_match_its_trailers(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    edited = encode(replace(record, approved_by=("mallory",)))
    sha = repo.write(record.with_event("land", record.state_since), ["land"], text=edited)
    findings = _findings(repo)
    assert [(f.kind, f.commit) for f in findings] == [("edited-file", sha)]
    assert "Approved-By" in findings[0].message and "mallory" in findings[0].message


def test_forged_trailer_on_a_ledger_commit(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    later = record.with_event("land", record.state_since)
    message = (
        f"land: {record.id}\n\nTrain-Id: {record.id}\nEvent: land\nActor: release-train\n"
        f"State: merged\nBoarded: #1 #2\nMissed: #3 conflict\nTrain-PR: #10\n"
        f"Merge-Sha: {record.merge_sha}\nApproved-By: rm-dave ceo-frank\n"
    )
    sha = repo.raw_ledger_commit({later.path: encode(later)}, message)
    findings = _findings(repo)
    assert [(f.kind, f.commit) for f in findings] == [("edited-file", sha)]
    assert "ceo-frank" in findings[0].message


def test_hand_made_bump_claiming_an_unknown_train(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    merged_train(repo, "web-2026-03-02")
    sha = repo.base_commit(
        "promote web-2026-03-09 to production\n\nTrain-Id: web-2026-03-09\nStage: production\n"
        "Services: web\nBump: web 1.0.0 -> 6.6.6\n",
        author="mallory",
    )
    findings = _findings(repo)
    assert [(f.kind, f.commit, f.train_id) for f in findings] == [
        ("forged-trailers", sha, "web-2026-03-09")
    ]
    assert "mallory" in findings[0].message


def test_a_bot_commit_claiming_an_unknown_train(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    merged_train(repo, "web-2026-03-02")
    sha = repo.base_commit(
        "promote web-2026-03-09 to production\n\nTrain-Id: web-2026-03-09\nStage: production\n"
        "Services: web\nBump: web 1.0.0 -> 6.6.6\n"
    )
    findings = _findings(repo)
    assert [(f.kind, f.commit, f.train_id) for f in findings] == [
        ("unknown-train", sha, "web-2026-03-09")
    ]


def test_hand_made_bump_for_a_known_train_has_no_ledger_event(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    merged_train(repo, "web-2026-03-02")
    sha = repo.base_commit(
        "promote web-2026-03-02 to production\n\nTrain-Id: web-2026-03-02\nStage: production\n"
        "Bump: web 1.0.0 -> 1.1.0\n"
    )
    assert [(f.kind, f.commit) for f in _findings(repo)] == [("missing-event", sha)]


def test_ledger_event_naming_a_commit_not_on_base(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    ghost = "f" * 40
    sha = repo.write(
        replace(record.with_event("stage-started", record.state_since), state="promoting"),
        ["stage-started"],
        [("Stage", "staging"), ("Commit", ghost)],
    )
    assert [(f.kind, f.commit) for f in _findings(repo)] == [("missing-commit", sha)]


def test_merge_commit_in_the_ledger(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    _, shas = merged_train(repo, "web-2026-03-02")
    tip = repo.git("rev-parse", LEDGER_REF)
    tree = repo.git("rev-parse", f"{tip}^{{tree}}")
    merge = repo.git("commit-tree", tree, "-p", tip, "-p", shas["board"], "-m", "Merge branch")
    repo.git("update-ref", LEDGER_REF, merge)
    kinds = [(f.kind, f.commit) for f in _findings(repo)]
    assert ("ledger-merge", merge) in kinds


def test_cli_verify_exits_1_and_names_the_commit(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    sha = repo.raw_ledger_commit({record.path: "{}\n"}, "oops\n")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify", "--repo", str(repo.path), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and doc["findings"][0]["commit"] == sha


def test_remote_tracking_ledger_of_a_plain_clone(tmp_path: Path) -> None:
    repo, _ = story(tmp_path / "repo")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(clone)], check=True)
    subprocess.run(
        ["git", "-C", str(clone), "branch", "-q", "-D", "release-train/ledger"],
        capture_output=True,
        check=False,
    )
    history = read_history(clone)
    assert history.ledger_ref == "origin/release-train/ledger"
    assert history.base_ref.endswith("main")
    assert verify(history) == ()


def test_stage_started_without_its_commit(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    started = replace(record.with_event("stage-started", record.state_since), state="promoting")
    sha = repo.write(started, ["stage-started"], [("Stage", "staging")])
    assert [(f.kind, f.commit) for f in _findings(repo)] == [("missing-commit", sha)]
