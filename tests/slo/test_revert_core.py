"""The pure parts of stopping a train: the abort notice and the promotion check run's
conclusion per train state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.core import promotion as pm
from bot.core.ledger import TrainRecord
from bot.core.promotion_check import check_run_body
from bot.core.revert import abort_notice

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_abort_notice_says_why_what_stays_and_what_to_do() -> None:
    bumped = [("staging", "passed", "a" * 40), ("canary", "soaking", "b" * 40)]
    text = abort_notice(
        "web-2026-11-26", "canary", "error", "availability/web: down", bumped, ["production"]
    )
    assert "**aborted** (reason `slo-inconclusive`)" in text
    assert "stayed `error` past `inconclusive_after`" in text
    assert "Why: availability/web: down" in text
    assert "- `staging`: passed (commit `aaaaaaaaaaaa`)" in text
    assert "- `canary`: soaking (commit `bbbbbbbbbbbb`)" in text
    assert "Not bumped: `production`." in text
    assert "**What to do:**" in text and "reverts nothing" in text


def test_an_abort_before_any_bump_says_nothing_changed() -> None:
    text = abort_notice("web-2026-11-26", "staging", "inconclusive", "", [], ["staging"])
    assert "No stage was bumped" in text and "Why:" not in text


def _record(state: str) -> TrainRecord:
    record = TrainRecord(id="web-2026-11-26", train="web", state=state, merge_sha="c" * 40)
    return pm.store(record, pm.Promotion(steps=(pm.StepState("staging", pm.SOAKING),)))


def test_the_check_run_fails_for_an_aborted_or_rolled_back_train() -> None:
    def conclusion(record: TrainRecord) -> tuple[str, str | None]:
        body = check_run_body(record, "table")
        return body["status"], body.get("conclusion")

    assert conclusion(_record("promoting")) == ("in_progress", None)
    assert conclusion(_record("completed")) == ("completed", "success")
    assert conclusion(_record("rolled_back")) == ("completed", "failure")
    assert conclusion(_record("aborted")) == ("completed", "failure")
    stopped = pm.store(_record("promoting"), pm.Promotion(error="staging: no file"))
    assert conclusion(replace(stopped, state="promoting")) == ("completed", "failure")
