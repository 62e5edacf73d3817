"""The Release's pure parts: the tag, the moves decided once, the body neutralised."""

from __future__ import annotations

from dataclasses import replace

from bot.config.model import Config, Release, Train
from bot.core import artifacts as arts
from bot.core import promotion as pm
from bot.core import release
from bot.core.ledger import TrainRecord

CONFIG = Config(trains=(Train(name="web", label="train:next", cadence="0 * * * *"),))


def _record(**changes: object) -> TrainRecord:
    return replace(TrainRecord("web-2026-12-07.2", "web", merge_sha="f" * 40), **changes)  # type: ignore[arg-type]


def test_the_tag_is_rendered_once_and_then_read_from_the_record() -> None:
    custom = replace(CONFIG, release=Release(tag="rel/{train}/{id}"))
    record, (action,) = release.draft(custom, _record())
    assert action.tag == "rel/web/web-2026-12-07.2" == release.tag_name(CONFIG, record)
    assert release.tag_name(CONFIG, _record()) == "train/web-2026-12-07.2"
    assert action.describe() == "draft the Release rel/web/web-2026-12-07.2 of web-2026-12-07.2"


def test_a_state_already_recorded_decides_nothing() -> None:
    record, _ = release.draft(CONFIG, _record())
    drafted = release.folded(record, {"id": 7, "url": "u", "state": "draft"})
    assert release.draft(CONFIG, drafted)[1] == []
    (publish,) = release.publish(drafted)
    assert (publish.tag, publish.state) == ("train/web-2026-12-07.2", "published")
    published = release.folded(drafted, {"id": 7, "url": "u", "state": "published"})
    assert release.publish(published) == []
    assert [a.state for a in release.rolled_back(published)] == ["rolled-back"]
    assert release.folded(published, None) == published  # a skipped action keeps the record


def test_the_rollback_section_neutralises_others_text() -> None:
    step = pm.StepState("staging", pm.REVERTED, "a" * 40, revert_commit="b" * 40,
                        bumps=(pm.BumpLine("web", "1.0", "2.0"),))  # fmt: skip
    record = pm.store(_record(end_reason="<!-- x --> @everyone [click](http://evil)"),
                      pm.Promotion({"web": "2.0"}, (step,), incident=12))  # fmt: skip
    body = release.body(record, "## Release train x\n", release.ROLLED_BACK)
    first = body.splitlines()[0]
    assert "<!--" not in body and "[click](" not in body and "@everyone" not in body
    assert first.startswith("> **Rolled back**: &lt;\\!-- x --&gt; @\u200beveryone")
    assert "> - staging: `aaaaaaaaaaaa` reverted by `bbbbbbbbbbbb` (web 1.0 → 2.0)" in body
    assert "> Incident: #12" in body
    assert "| web | `2.0` | – | `ffffffffffff` |" in body


def test_the_artifact_table_reads_the_recorded_set_and_escapes_odd_values() -> None:
    odd = arts.Artifact("web|x", "r", "1.0`|", arts.State.FOUND, "sha256:" + "0" * 64, "c" * 40)
    record = arts.with_set(_record(), arts.ArtifactSet("d" * 40, (odd,)))
    rows, source = release.artifact_rows(record)
    assert rows == [("web|x", "1.0`|", "sha256:" + "0" * 64, "c" * 40)]
    assert source == "the train's recorded artifact set"
    table = release.artifact_table(record)
    assert "| web\\|x | 1.0\\`\\| | `sha256:" + "0" * 64 + "` | `cccccccccccc` |" in table


def test_the_changelog_entry_keeps_every_other_byte() -> None:
    from bot.core.changelog import marker, with_entry

    notes = "## Release train t1\n\n- #1 Add A\n"
    crlf = "# Changelog\r\n\r\n\r\n## Older\r\n- thing  \r\n\tkept\r\n"
    new = with_entry(crlf, notes, "t1")
    assert new == ("# Changelog\r\n\r\n\r\n" + marker("t1") + "\r\n## Release train t1\r\n\r\n"
                   "- #1 Add A\r\n\r\n## Older\r\n- thing  \r\n\tkept\r\n")  # fmt: skip
    assert with_entry(new, notes, "t1") is None  # a re-run adds nothing
    plain = "no title\nsecond line"  # no final newline: kept as is
    assert with_entry(plain, notes, "t1") == f"{marker('t1')}\n{notes}\n{plain}"
    assert with_entry(None, notes, "t1") == f"{marker('t1')}\n{notes}"
    assert with_entry("\ufeff# T\n", notes, "t1") == f"\ufeff# T\n{marker('t1')}\n{notes}"
    assert with_entry("# T", notes, "t1") == f"# T\n\n{marker('t1')}\n{notes}"
