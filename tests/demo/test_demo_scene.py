"""The demo's pure parts: narration lines, the scene's settings, the breach plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config.load import load_config_text
from bot.demo.narrate import Line, Narrator, bot_lines, describe_action, render, with_details
from bot.demo.scene import (
    MONDAY,
    UNCHECKED_GATES,
    allow_unchecked_gates,
    breach_plan,
    demo_config,
    reviewers_own_everything,
)

DEMO_CONFIG = Path("bot/sandbox/demo/shop/.github/release-train.yml")
DEMO_CODEOWNERS = Path("bot/sandbox/demo/shop/.github/CODEOWNERS")


def test_a_ledger_write_reads_as_a_transition() -> None:
    text = "record create, board, notify for daily-2026-03-02 (state boarding)"
    assert describe_action(text) == "ledger: daily-2026-03-02 create + board + notify → boarding"
    assert (
        describe_action("merge train PR #4 at c3fb90682be7") == "merge train PR #4 at c3fb90682be7"
    )


def test_promotion_writes_read_with_what_the_ledger_recorded() -> None:
    details = {("t-1", "stage-verdict"): ["staging inconclusive", "staging pass"]}
    first = with_details("record stage-verdict for t-1", details)
    second = with_details("record stage-verdict for t-1", details)
    assert (first, second) == (
        "ledger: t-1 stage-verdict: staging inconclusive",
        "ledger: t-1 stage-verdict: staging pass",
    )
    assert with_details("record completed for t-1", details) == "ledger: t-1 completed"
    lines = bot_lines(MONDAY, ["record rolled-back for t-2"], [], {("t-2", "rolled-back"): ["x"]})
    assert lines[0].text == "ledger: t-2 rolled-back: x"


def test_lines_carry_the_virtual_day_and_time_and_stay_one_line() -> None:
    at = datetime(2026, 3, 3, 9, 15, tzinfo=UTC)
    line = render(Line(at, "rev-carol", "approves\nthe train PR #5 " + "x" * 300))
    assert line.startswith("Tue 09:15  rev-carol   approves the train PR #5")
    assert "\n" not in line and line.endswith("…")
    note = render(Line(at, "demo", "promotion is not implemented", "note"))
    assert "ℹ promotion is not implemented" in note


def test_reconcile_problems_are_narrated_as_notes_not_failures() -> None:
    at = MONDAY
    lines = bot_lines(at, ["open an issue: configuration error"], ["bad config"])
    assert [(x.who, x.kind) for x in lines] == [("bot", "event"), ("bot", "note")]
    narrator = Narrator()
    narrator.add(lines)
    narrator.say(at, "demo", "train 1 should have merged", "check")
    assert narrator.failures() == ["train 1 should have merged"]
    assert narrator.lines[0].as_json()["at"] == "2026-03-02T08:00:00+00:00"


def test_the_override_points_the_demo_config_at_the_metrics_source() -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    updated = demo_config(text, "http://127.0.0.1:4321")
    config = load_config_text(updated, str(DEMO_CONFIG))
    assert config.prometheus.url == "http://127.0.0.1:4321"
    assert updated.replace("http://127.0.0.1:4321", "http://127.0.0.1:9090") == text
    bare = "version: 1\n"
    assert demo_config(bare, "http://x:1").endswith("prometheus:\n  url: http://x:1\n")


def test_unchecked_gates_may_be_neutral_in_the_demo_config() -> None:
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    config = load_config_text(allow_unchecked_gates(text), str(DEMO_CONFIG))
    assert config.gates.allow_neutral == UNCHECKED_GATES
    assert config.gates.approvals == load_config_text(text, str(DEMO_CONFIG)).gates.approvals
    chosen = "gates:\n  allow_neutral: [ci]\n"
    assert allow_unchecked_gates(chosen) == chosen  # a config that chose stays as it is
    assert allow_unchecked_gates("version: 1\n", ("security",)).endswith(
        "gates:\n  allow_neutral: [security]\n"
    )


def test_reviewers_join_only_the_catch_all_code_owners_rule() -> None:
    text = DEMO_CODEOWNERS.read_text(encoding="utf-8")
    updated = reviewers_own_everything(text)
    changed = [
        (a, b) for a, b in zip(text.splitlines(), updated.splitlines(), strict=True) if a != b
    ]
    assert changed == [(changed[0][0], changed[0][0] + " @acme/reviewers")]
    assert changed[0][0].split()[0] == "*"
    assert reviewers_own_everything(updated) == updated


def test_the_breach_is_train_2s_checkout_canary_only() -> None:
    plan = breach_plan(seed=3)
    (breach,) = plan.breaches
    assert (breach.service, breach.env) == ("checkout", "canary")
    assert MONDAY + timedelta(hours=12) < breach.start <= MONDAY + timedelta(days=1, hours=9)
    assert plan.seed == 3
