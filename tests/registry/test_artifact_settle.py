"""Promotion's artifact wait, pure: what each round's set records and shows, what the bumps
write (`tag@digest`, `tag`, and a revert's `tag@`), what an earlier train left for this one,
and a re-pushed tag as a stop naming both digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config.load import load_config_text
from bot.core import actions as act
from bot.core import pins
from bot.core import promotion_artifacts as pa
from bot.core.artifacts import Observation, State, decide, of_record, wanted, with_set
from bot.core.ledger import Event, TrainRecord
from bot.core.manifests import plan_many

CONFIG = """\
version: 1
trains:
  - name: daily
services:
  - {name: checkout, image: ghcr.io/acme/checkout, paths: ["checkout/**"]}
  - {name: web, image: ghcr.io/acme/web, paths: ["web/**"]}
artifacts:
  timeout: 30m
  pin: {web: tag}
"""
SHA = "1234567890abcdef1234567890abcdef12345678"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
D1, D2 = "sha256:" + "c" * 64, "sha256:" + "d" * 64
BODY = "<!-- release-train:begin -->\n### Services\n- `checkout` → `x:1`\n\n### Stages\n"


def _record(**kw: object) -> TrainRecord:
    base = TrainRecord("daily-2026-03-02", "daily", "merged", merge_sha=SHA, train_pr=7,
                       created_at=T0, history=(Event("merged", T0),))  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _round(record: TrainRecord, seen: dict[str, Observation], now: datetime) -> pa.Settling:
    config = load_config_text(CONFIG, "cfg.yml")
    refs = wanted(config, config.trains[0], ["checkout/a", "web/b"], SHA, record.id, T0)
    fresh = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=now)
    return pa.settle(config, record, fresh, check_run=0, pr_body=BODY, now=now)


def test_a_waiting_round_records_once_and_an_unchanged_one_writes_nothing() -> None:
    first = _round(_record(), {}, T0 + timedelta(minutes=1))
    kinds = [type(a).__name__ for a in first.actions]
    assert kinds == ["PublishCheckRun", "WriteLedger"]
    assert first.wake == T0 + timedelta(minutes=30)  # the timeout: time alone changes it
    again = _round(first.record, {}, T0 + timedelta(minutes=2))
    assert again.actions == () and not again.artifacts.settled


def test_settled_set_rewrites_the_services_list_and_keeps_settled_entries() -> None:
    seen = {"checkout": Observation(D1, SHA), "web": Observation(D2, SHA)}
    done = _round(_record(), seen, T0 + timedelta(minutes=3))
    assert done.artifacts.settled
    assert pa.targets(done.artifacts) == {"checkout": f"1234567@{D1}", "web": "1234567"}
    update = next(a for a in done.actions if isinstance(a, act.UpdatePullRequest))
    assert f"- `checkout` → `ghcr.io/acme/checkout:1234567` `{D1}`" in update.body
    assert update.body.endswith("\n\n### Stages\n")
    # a later round that would see another digest keeps what was settled
    later = _round(done.record, {"checkout": Observation(D2, SHA)}, T0 + timedelta(hours=1))
    assert later.actions == () and of_record(later.record) == done.artifacts


def test_left_out_at_the_timeout_is_told_once_and_owed_to_the_next_train() -> None:
    seen = {"web": Observation(D2, SHA)}
    left = _round(_record(), seen, T0 + timedelta(minutes=31))
    told = [a for a in left.actions if isinstance(a, act.PostComment)]
    assert len(told) == 1 and "`checkout` is left out of this train" in told[0].body
    check = next(a for a in left.actions if isinstance(a, act.PublishCheckRun))
    assert check.conclusion == "neutral"
    nxt = TrainRecord("daily-2026-03-03", "daily", "merged", created_at=T0 + timedelta(days=1))
    assert pa.carried_over([left.record], nxt) == ("checkout",)
    found = tuple(replace(a, state=State.FOUND) for a in left.artifacts.artifacts)
    later = replace(left.record, id="daily-2026-03-02.2", created_at=T0 + timedelta(hours=2))
    shipped = with_set(later, replace(left.artifacts, artifacts=found))
    assert pa.carried_over([left.record, shipped], nxt) == ()  # nothing owed after it


def test_a_tag_pushed_again_is_a_stop_with_both_digests() -> None:
    seen = {"checkout": Observation(D1, SHA), "web": Observation(D2, SHA)}
    artifacts = _round(_record(), seen, T0).artifacts
    assert pa.restamp_problems(artifacts, {"checkout": D1, "web": D2}) == ()
    (problem,) = pa.restamp_problems(artifacts, {"checkout": D2, "web": D2})
    assert D1 in problem.message and D2 in problem.message
    assert problem.file == "ghcr.io/acme/checkout:1234567"


def test_targets_write_and_revert_byte_for_byte() -> None:
    text = "containers:\n  - name: c\n    image: ghcr.io/acme/checkout:1.0.0  # pinned\n"
    doc = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n" + "".join(
        "      " + line + "\n" for line in text.splitlines()
    )
    up = plan_many(doc, [pins.bump("ghcr.io/acme/checkout", f"2.0.0@{D1}")], filename="d.yaml")
    assert f"image: ghcr.io/acme/checkout:2.0.0@{D1}  # pinned" in up.text
    site = up.matched[0]  # as the file held it before the bump
    old = pins.site_value(site.tag, site.digest, f"2.0.0@{D1}")
    assert old == "1.0.0@"  # a revert writes the tag back and drops the digest
    down = plan_many(up.text, [pins.bump("ghcr.io/acme/checkout", old)], filename="d.yaml")
    assert down.text == doc
    assert pins.site_value("2.0.0", D1, "3.0.0") == f"2.0.0@{D1}"
    assert pins.split("1.0.0") == ("1.0.0", None) and pins.split(f"@{D1}") == (None, D1)
