"""The `migrations` gate, pure: changed paths, reviews and `now` in, a verdict out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.gates.migrations import (
    GATE,
    MigrationFacts,
    MigrationSettings,
    Window,
    migration_paths,
    settings_from_config,
    window_state,
)
from bot.core.gates.policy import PolicyFacts, Review
from bot.errors import ConfigError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # a Monday, 15:00 UTC
HEAD = "a" * 40
TEAM = "acme/dba"
NIGHTLY = Window("0 22 * * *", timedelta(hours=2), "Europe/Berlin")  # 21:00-23:00 UTC


def facts(paths: tuple[str, ...], *approvals: str) -> MigrationFacts:
    reviews = tuple(Review(u, "APPROVED", NOW - timedelta(minutes=5), HEAD) for u in approvals)
    policy = PolicyFacts(reviews=reviews, head_sha=HEAD, pr_author="release-train[bot]",
                         permissions={u: "write" for u in approvals},
                         team_members={TEAM: frozenset({"dba-erin"})})  # fmt: skip
    return MigrationFacts(paths, policy)


def test_the_default_paths_know_the_common_tools() -> None:
    paths = (
        "api/alembic/versions/3f2a_add_orders.py", "shop/migrations/0042_price.py",
        "db/V7__add_index.sql", "db/migrate/20261102_add_sku.rb",
        "db/changelog/db.changelog-master.yaml", "migrations/0003_users.up.sql",
        "shop/models.py", "docs/migrations.md", "README.md",
    )  # fmt: skip
    assert migration_paths(paths, MigrationSettings().paths) == paths[:6]


def test_a_train_without_migrations_passes() -> None:
    result = GATE.evaluate(facts(("app.py",)), MigrationSettings(approvers=TEAM), NOW)
    assert result.conclusion == "success" and result.title == "No migrations in this train"


def test_migrations_wait_for_the_approvers_team() -> None:
    settings = MigrationSettings(approvers=TEAM)
    waiting = GATE.evaluate(facts(("db/V7__x.sql",), "rev-carol"), settings, NOW)
    assert waiting.conclusion == "action_required"
    assert "0 of 1 from acme/dba" in waiting.title
    approved = GATE.evaluate(facts(("db/V7__x.sql",), "dba-erin"), settings, NOW)
    assert approved.conclusion == "success", approved.summary
    assert "@dba-erin" in approved.summary and "`db/V7__x.sql`" in approved.summary


def test_a_stale_approval_from_the_team_does_not_count() -> None:
    stale = facts(("db/V7__x.sql",), "dba-erin")
    old = (Review("dba-erin", "APPROVED", NOW, "b" * 40),)
    stale = replace(stale, policy=replace(stale.policy, reviews=old))
    assert GATE.evaluate(stale, MigrationSettings(approvers=TEAM), NOW).conclusion == (
        "action_required"
    )


def test_migrations_wait_for_a_window_and_recheck_when_it_opens() -> None:
    settings = MigrationSettings(approvers=TEAM, windows=(NIGHTLY,))
    result = GATE.evaluate(facts(("db/V7__x.sql",), "dba-erin"), settings, NOW)
    assert result.conclusion == "in_progress"
    assert "opens 2026-11-02T22:00:00+01:00" in result.title
    assert result.recheck_after == timedelta(hours=6)
    inside = NOW + timedelta(hours=6, minutes=30)
    assert GATE.evaluate(facts(("db/V7__x.sql",), "dba-erin"), settings, inside).conclusion == (
        "success"
    )
    assert window_state((NIGHTLY,), NOW + timedelta(hours=8)) == (
        False, datetime(2026, 11, 3, 21, 0, tzinfo=UTC)
    )  # fmt: skip


def test_settings_are_checked() -> None:
    good = settings_from_config(
        {"approvers": TEAM, "windows": [{"cron": "0 22 * * *", "duration": "2h"}]}
    )
    assert good.windows == (Window("0 22 * * *", timedelta(hours=2)),)
    bad_settings = (
        {"approvers": "dba"}, {"windows": [{"cron": "nope", "duration": "1h"}]},
        {"windows": [{"cron": "0 1 * * *", "duration": "1h", "timezone": "Mars/Base"}]},
        {"required": 0}, {"extra": 1},
    )  # fmt: skip
    for bad in bad_settings:
        with pytest.raises(ConfigError):
            settings_from_config(bad)
