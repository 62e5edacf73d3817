"""The release notes' "Feature flags" and "Database migrations" sections and the marks on
migration-carrying PRs (in the notes and the boarding comment), from the gates' facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config.load import load_config_text
from bot.core.boarding import boarded_notice
from bot.core.gates.flags import FlagFacts, FlagFileTexts
from bot.core.gates.migrations import MigrationFacts, MigrationSettings, Window
from bot.core.ledger import Boarded, TrainRecord
from bot.core.notes import MIGRATION_MARK, PR_MIGRATIONS, release_notes

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CONFIG = """\
version: 1
trains:
  - name: daily
services:
  - name: web
    image: ghcr.io/acme/web
gates:
  flags:
    files: [flags/*.flagd.json]
  migrations:
    approvers: acme/dba
"""
PATH = "flags/shop.flagd.json"


def _flag(on: bool = False, **meta: str) -> dict[str, Any]:
    return {"state": "ENABLED", "variants": {"on": True, "off": False},
            "defaultVariant": "on" if on else "off", "metadata": meta}  # fmt: skip


def _file(**flags: dict[str, Any]) -> str:
    return json.dumps({"flags": flags}, indent=2) + "\n"


def _record() -> TrainRecord:
    boarded = (
        Boarded(1, NOW, "New checkout", "dev-alice", ("feature",)),
        Boarded(2, NOW, "Add orders table", "dev-bob", ("feature",)),
    )
    return TrainRecord(id="daily-2026-03-02", train="daily", boarded=boarded)


def _notes(gates: dict[str, Any] | None, text: str = CONFIG) -> str:
    config = load_config_text(text, ".github/release-train.yml")
    return release_notes(config, config.trains[0], _record(), NOW, gates)


def test_feature_flags_section_lists_what_the_train_adds_changes_and_removes() -> None:
    base = _file(old=_flag(owner="shop", expires="2026-01-01"), kept=_flag(owner="shop"))
    head = _file(
        kept=_flag(True, owner="shop", expires="2026-06-30"),
        fresh=_flag(True, owner="growth", expires="2026-02-01"),
        nobody=_flag(),
    )
    facts = FlagFacts((FlagFileTexts(PATH, base, head),))
    notes = _notes({"flags": facts})
    section = notes.split("### Feature flags\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert sorted(section) == [
        "- `fresh` added (owner `growth`, **expired** on 2026-02-01, on for everyone)",
        "- `kept` changed (owner `shop`, expires 2026-06-30, on for everyone)",
        "- `nobody` added (no owner, no expiry)",
        "- `old` removed (flag debt paid off)",
    ]
    assert notes.index("### Feature flags") < notes.index("### Gates")
    gates = notes.split("### Gates\n", 1)[1]
    flag_rule = "each flag the train adds or changes has an owner and an expiry and is not expired"
    assert f"- Feature flags: {flag_rule}" in gates
    assert "- Database migrations: 1 approval(s) from `acme/dba` (if any)" in gates


def test_no_sections_without_facts_or_without_the_gate() -> None:
    assert "### Feature flags" not in _notes(None)
    unconfigured = CONFIG.split("gates:", 1)[0]
    facts = FlagFacts((FlagFileTexts(PATH, None, _file(x=_flag(owner="o"))),))
    assert "### Feature flags" not in _notes({"flags": facts}, unconfigured)
    untouched = _notes({"flags": FlagFacts()})
    assert "### Feature flags\n_No flag changes._" in untouched


def test_migrations_section_and_marked_prs() -> None:
    facts = MigrationFacts(changed_paths=("app.py", "db/migrate/20260301_add_orders.rb"))
    notes = _notes(
        {"migrations": facts, PR_MIGRATIONS: {2: ("db/migrate/20260301_add_orders.rb",)}}
    )
    assert "### Database migrations\n- `db/migrate/20260301_add_orders.rb`\n" in notes
    assert "- #2 Add orders table (`@dev-bob`) — " + MIGRATION_MARK in notes
    assert "- #1 New checkout (`@dev-alice`)\n" in notes  # no mark
    none = _notes({"migrations": MigrationFacts(changed_paths=("app.py",))})
    assert "### Database migrations" not in none and MIGRATION_MARK not in none


def test_boarding_comment_marks_a_migration_pr() -> None:
    departs = NOW + timedelta(hours=2)
    plain = boarded_notice("daily-2026-03-02", departs, NOW, "train:next")
    assert "migrations" not in plain
    gate = MigrationSettings(
        approvers="acme/dba", windows=(Window("0 2 * * 6", timedelta(hours=2)),)
    )
    marked = boarded_notice(
        "daily-2026-03-02", departs, NOW, "train:next", ("db/migrate/1_add.rb",), gate
    )
    assert "🗄️ **It carries database migrations** (`db/migrate/1_add.rb`)" in marked
    assert "1 approval(s) from `acme/dba` and a migration window" in marked
    assert marked.endswith("remove the `train:next` label.")
    hostile = boarded_notice("t", departs, NOW, "l", ("db/migrate/`x`\n<!-- y -->.rb",))
    assert "(`db/migrate/'x' ‹!-- y --›.rb`)" in hostile  # one code span, no marker
    bare = boarded_notice("t", departs, NOW, "train:next", ("V1__init.sql",), MigrationSettings())
    assert "`release-train/migrations` check lists them." in bare
