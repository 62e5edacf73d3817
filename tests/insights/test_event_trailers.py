"""A ledger commit may record several events (its subject's and further `Event` trailers,
e.g. a stage's pass verdict and its completion in one write): the insights count every one,
over a real git repository written the way the bot writes it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ledger_repo import LedgerRepo, merged_train, promote, step

from bot.core.ledger import TrainRecord
from bot.insights.facts import StageRun, train_facts
from bot.insights.gitlog import read_history
from bot.insights.timeline import build_timelines
from bot.insights.verify import verify

TRAIN = "web-2026-03-02"


def _pass(repo: LedgerRepo, record: TrainRecord, stage: str) -> TrainRecord:
    """The bot's pass: verdict and completion, one ledger commit with both Event trailers."""
    at = repo.tick(30)
    record = step(record, at, "stage-verdict")
    record = step(record, at, "stage-completed")
    trailers = [("Stage", stage), ("Verdict", "pass"), ("Evidence", "soak passed")]
    repo.write(record, ["stage-verdict", "stage-completed"], trailers)
    return record


def _completed_train(repo: LedgerRepo) -> TrainRecord:
    record, _ = merged_train(repo, TRAIN)
    for stage in ("staging", "production"):
        record, _ = promote(repo, record, stage, ["web 1.0.0 -> 1.1.0"])
        record = _pass(repo, record, stage)
    record = step(record, repo.tick(1), "completed", "completed")
    repo.write(record, ["complete"])
    return record


def test_a_pass_recorded_with_its_completion_counts_both(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    _completed_train(repo)
    history = read_history(repo.path)
    (timeline,) = build_timelines(history)
    facts = train_facts(timeline)
    assert [s.stage for s in facts.stages] == ["staging", "production"]
    for run in facts.stages:
        assert isinstance(run, StageRun)
        assert run.started is not None and run.completed is not None
        assert run.completed > run.started
        assert run.verdicts == ("pass",)
    assert facts.state == "completed" and facts.breach is None
    summaries = [e.summary for e in timeline.events if e.kind == "stage-verdict"]
    assert summaries[0] == "stage staging verdict pass (soak passed); stage staging completed"
    assert verify(history) == ()


def test_a_breach_named_by_its_verdict_counts_the_rollback(tmp_path: Path) -> None:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, TRAIN)
    record, bump = promote(repo, record, "staging", ["web 1.0.0 -> 1.1.0"])
    revert = (
        f"revert {TRAIN} staging\n\nTrain-Id: {TRAIN}\nStage: staging\nReverts: {bump}\n"
        "Evidence: error-rate 0.05 > 0.01 (5m)\n"
    )
    sha = repo.base_commit(revert)
    at = repo.tick(2)
    record = step(record, at, "stage-verdict")
    record = step(record, at, "rolled_back", "rolled_back")
    trailers = [("Stage", "staging"), ("Verdict", "fail")]
    trailers += [("Evidence", "error-rate 0.05 > 0.01 (5m)"), ("Commit", sha)]
    repo.write(record, ["stage-verdict", "rolled-back"], trailers)
    history = read_history(repo.path)
    (timeline,) = build_timelines(history)
    facts = train_facts(timeline)
    assert facts.breach is not None and facts.rolled_back is not None
    assert facts.stages[0].verdicts == ("fail",) and facts.stages[0].completed is None
    assert verify(history) == ()


def test_a_stage_start_carried_as_a_further_event_must_name_its_commit(tmp_path: Path) -> None:
    """`stage-started` riding on a commit named by another event still needs its Commit."""
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, TRAIN)
    started = replace(record.with_event("stage-started", record.state_since), state="promoting")
    sha = repo.write(started, ["promoting", "stage-started"], [("Stage", "staging")])
    kinds = [(f.kind, f.commit) for f in verify(read_history(repo.path))]
    assert ("missing-commit", sha) in kinds
