"""The `flags` gate, pure: flag files at base and head in, a verdict out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from bot.core.flagfile import parse_flag_file
from bot.core.gates.flags import (
    GATE,
    FlagFacts,
    FlagFileTexts,
    FlagSettings,
    settings_from_config,
)
from bot.errors import ConfigError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
PATH = "flags/app.flagd.json"


def flagd(**flags: dict[str, object]) -> str:
    return json.dumps({"flags": flags}, indent=2)


def boolean(on: bool = False, owner: str = "team-a", expires: str = "2027-01-31", **more: object):
    meta = {k: v for k, v in (("owner", owner), ("expires", expires)) if v}
    return {"state": "ENABLED", "variants": {"on": True, "off": False},
            "defaultVariant": "on" if on else "off", "metadata": meta, **more}  # fmt: skip


def judge(base: str | None, head: str | None, settings: FlagSettings | None = None):
    facts = FlagFacts((FlagFileTexts(PATH, base, head),))
    return GATE.evaluate(facts, settings or FlagSettings(files=("flags/*",)), NOW)


def test_a_well_kept_new_flag_passes_and_is_listed_with_owner_and_expiry() -> None:
    result = judge(flagd(), flagd(checkout=boolean()))
    assert result.conclusion == "success"
    assert "| checkout | flags/app.flagd.json:3 | added | team-a | 2027-01-31 | no | ok |" in (
        result.summary
    )


def test_an_expired_flag_fails_or_warns_per_policy() -> None:
    head = flagd(old=boolean(expires="2026-10-01"))
    failed = judge(flagd(), head)
    assert failed.conclusion == "failure"
    assert "expired on 2026-10-01" in failed.summary
    assert failed.annotations[0].path == PATH and failed.annotations[0].start_line == 3
    warned = judge(flagd(), head, FlagSettings(files=("*",), on_expired="warn"))
    assert warned.conclusion == "success"
    assert warned.annotations[0].annotation_level == "warning"
    assert "1 warning(s)" in warned.title


def test_an_ownerless_flag_fails_unless_owner_is_not_required() -> None:
    head = flagd(nobody=boolean(owner=""))
    result = judge(None, head)
    assert result.conclusion == "failure"
    assert "flag `nobody`: has no owner" in result.summary
    relaxed = judge(None, head, FlagSettings(files=("*",), require=("expires",)))
    assert relaxed.conclusion == "success"


def test_a_flag_new_and_on_for_everyone_warns() -> None:
    result = judge(flagd(), flagd(launch=boolean(on=True)))
    assert result.conclusion == "success"
    assert "already on for everyone" in result.annotations[0].message
    assert result.annotations[0].annotation_level == "warning"
    targeted = boolean(on=True, targeting={"if": [{"in": ["@x.com", {"var": "email"}]}, "on"]})
    assert judge(flagd(), flagd(launch=targeted)).annotations == ()
    strict = FlagSettings(files=("*",), default_on_new="fail")
    assert judge(flagd(), flagd(launch=boolean(on=True)), strict).conclusion == "failure"


def test_switching_on_an_existing_flag_is_a_change_not_a_new_flag() -> None:
    result = judge(flagd(f=boolean()), flagd(f=boolean(on=True)))
    assert result.conclusion == "success" and result.annotations == ()
    assert "| changed |" in result.summary


def test_removed_flags_are_credited_and_untouched_flags_not_listed() -> None:
    old = boolean(owner="", expires="2020-01-01")  # debt, but it is being paid
    result = judge(flagd(gone=old, kept=boolean()), flagd(kept=boolean()))
    assert result.conclusion == "success"
    assert "credited (removed)" in result.summary and "kept" not in result.summary
    assert result.details["flags"] == [
        {"name": "gone", "change": "removed", "owner": "", "expires": "2020-01-01"}
    ]


def test_a_flag_file_that_violates_the_flagd_schema_fails_at_file_line_col() -> None:
    head = (
        '{\n  "flags": {\n    "x": {\n      "state": "MAYBE",\n      "variants": {}\n    }\n  }\n}'
    )
    result = judge(None, head)
    assert result.conclusion == "failure"
    assert f"{PATH}:4:16: flagd schema" in result.summary


def test_a_flag_file_that_does_not_parse_fails_with_its_position() -> None:
    result = judge(None, '{"flags": {"x": }')
    assert result.conclusion == "failure"
    assert f"{PATH}:1:" in result.summary


def test_the_simple_list_format() -> None:
    text = (
        "flags:\n"
        "  - name: dark-mode\n    owner: ui\n    expires: 2027-03-01\n    default: true\n"
        "  - name: beta\n    owner: ui\n    expires: 2027-03-01\n"
        "    state: off\n    default: true\n"
    )
    parsed = parse_flag_file(text, "flags.yml")
    assert [(f.name, f.on_for_everyone, f.expires, f.line) for f in parsed.flags] == [
        ("dark-mode", True, date(2027, 3, 1), 2),
        ("beta", False, date(2027, 3, 1), 6),
    ]
    bad = parse_flag_file("flags:\n  - name: a\n    expires: soon\n", "flags.yml")
    assert [p.render() for p in bad.problems] == [
        "flags.yml:3:14: expires: 'soon' is not a date like 2026-12-31"
    ]


def test_untrusted_owner_text_is_neutralised_in_the_table() -> None:
    result = judge(None, flagd(x=boolean(owner="@everyone | <b>x</b>")))
    assert "@everyone" not in result.summary
    assert "<b>" not in result.summary


def test_settings_are_checked() -> None:
    assert settings_from_config({"files": ["f.json"], "on_expired": "warn"}).on_expired == "warn"
    for bad in ({"require": ["team"]}, {"on_expired": "maybe"}, {"files": [""]}, {"x": 1}):
        with pytest.raises(ConfigError):
            settings_from_config(bad)


def test_a_flagd_expiry_that_is_not_a_date_is_a_problem_at_its_position() -> None:
    result = judge(
        None, flagd(x=boolean(expires="next week"), y=boolean(expires="2027-01-01T00:00:00Z"))
    )
    assert result.conclusion == "failure"
    assert "expires: 'next week' is not a date" in result.summary
    assert any("next week" in a.message and a.path == PATH for a in result.annotations)
    assert "flag `y`" not in result.summary  # a date-time's date is an expiry
