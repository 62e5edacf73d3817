"""The shell's pure helpers: grouping a plan per train and folding outcomes into records."""

from __future__ import annotations

from lifecycle_builders import T0

from bot.core import actions as act
from bot.core.ledger import Boarded, TrainRecord
from bot.shell.reconcile import _fold, _groups

RECORD = TrainRecord(
    "web-1", "web", state="departed", boarded=(Boarded(1, T0), Boarded(2, T0), Boarded(3, T0))
)


def test_groups_end_at_each_ledger_write() -> None:
    plan: list[act.Action] = [
        act.PostComment("a", 1, "x", "k1"),
        act.WriteLedger("a", ("notify",), RECORD),
        act.CreateBranch("b", "release/b", "s"),
        act.WriteLedger("b", ("depart",), RECORD),
        act.OpenPullRequest("b", "release/b", "main", "t", "body"),
    ]
    assert [len(g) for g in _groups(plan)] == [2, 2, 1]


def test_a_conflict_moves_the_pr_to_missed() -> None:
    merge = act.MergeIntoBranch("web-1", "release/web-1", 2, "h")
    folded = _fold(RECORD, merge, None, "main")
    assert folded is not None
    assert folded.boarded_numbers() == (1, 3)
    assert [(m.number, m.reason) for m in folded.missed] == [(2, "conflict")]
    merged = _fold(RECORD, merge, "abc", "main")
    assert merged is not None and merged.release_sha == "abc"
    already = _fold(RECORD, merge, "", "main")  # nothing to merge: already in the branch
    assert already == RECORD


def test_outcomes_of_pr_and_merge() -> None:
    opened = _fold(RECORD, act.OpenPullRequest("web-1", "h", "main", "t", "b"), 40, "main")
    assert opened is not None and opened.train_pr == 40
    merge = act.MergePullRequest("web-1", 40, "sha", "t", "m")
    assert _fold(RECORD, merge, None, "main") is None  # refused: judge again next time
    done = _fold(RECORD, merge, "m" * 40, "main")
    assert done is not None and done.merge_sha == "m" * 40
