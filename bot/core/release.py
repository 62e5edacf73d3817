"""A train's GitHub Release (pure): its tag, its body, and the one action that brings it to
the state the train's move calls for.

- **draft** at departure: the release notes and the artifact table;
- **published** when the train completes: an annotated tag on the merge commit, then the
  Release published and marked latest;
- **rolled-back** when the train is rolled back: published (with the same annotated tag,
  since the merge commit did land) as a prerelease that is *not* latest, its body opening
  with what was reverted and the incident.

The tag is decided once, at departure, from `release.tag` (`{id}`, `{train}`), and kept in
the train's record (`RECORD_KEY`) with the Release's id, url and state as the dispatcher
folds them in; later moves read it from there, so a config change mid-train does not
rename a train's tag. A move whose state the record already shows decides nothing (a
re-run performs nothing new); a crash before the record is written leaves the move to be
decided again, and the shell adopts the Release and the tag that exist.

The body is rendered from the record as it stands when the action is performed (the
dispatcher's folded record: the incident and the revert commits are known by then), so
`plan` names the action and `reconcile` performs exactly it. Others' text is neutralised
(`bot.core.untrusted`): the notes already are; every table cell and the rollback reason
are here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.config.model import Config
from bot.core import artifacts as arts
from bot.core import promotion as pm
from bot.core import untrusted
from bot.core.ledger import TrainRecord

RECORD_KEY = "release"  # record.extra: {"tag", "state", "id", "url"}
DRAFT, PUBLISHED, ROLLED_BACK = "draft", "published", "rolled-back"
_PLAIN = re.compile(r"[A-Za-z0-9._:@/+-]+")
ORDER = {"": 0, DRAFT: 1, PUBLISHED: 2, ROLLED_BACK: 3}


@dataclass(frozen=True)
class PublishRelease:
    """Bring the train's Release to `state` (`draft`, `published` or `rolled-back`) under
    `tag`, adopting the one that exists; published states first make the annotated tag on
    the merge commit. Outcome: the Release's {"id", "url", "state"}, folded into the record."""

    train_id: str
    tag: str
    state: str

    def describe(self) -> str:
        if self.state == DRAFT:
            return f"draft the Release {self.tag} of {self.train_id}"
        if self.state == PUBLISHED:
            return f"tag the merge commit {self.tag} (annotated) and publish its Release as latest"
        return f"mark the Release {self.tag} of {self.train_id} rolled back (not latest)"


def tag_name(config: Config, record: TrainRecord) -> str:
    """The tag the train's Release has: the recorded one, else `release.tag` rendered."""
    known = recorded(record).get("tag")
    if known:
        return str(known)
    return config.release.tag.replace("{id}", record.id).replace("{train}", record.train)


def recorded(record: TrainRecord) -> dict[str, Any]:
    data = record.extra.get(RECORD_KEY)
    return dict(data) if isinstance(data, dict) else {}


def _move(record: TrainRecord, tag: str, state: str) -> tuple[TrainRecord, list[PublishRelease]]:
    """The action for `state`, unless the record already shows it (or a later state)."""
    known = recorded(record)
    if ORDER.get(str(known.get("state", "")), 0) >= ORDER[state]:
        return record, []
    record = replace(record, extra={**record.extra, RECORD_KEY: {**known, "tag": tag}})
    return record, [PublishRelease(record.id, tag, state)]


def draft(config: Config, record: TrainRecord) -> tuple[TrainRecord, list[PublishRelease]]:
    """At departure: the draft, its tag recorded."""
    return _move(record, tag_name(config, record), DRAFT)


def publish(record: TrainRecord) -> list[PublishRelease]:
    """When the train completes (its tag was recorded at departure, else the default)."""
    return _move(record, _tag(record), PUBLISHED)[1]


def rolled_back(record: TrainRecord) -> list[PublishRelease]:
    """When the train is rolled back."""
    return _move(record, _tag(record), ROLLED_BACK)[1]


def _tag(record: TrainRecord) -> str:
    return str(recorded(record).get("tag") or f"train/{record.id}")


def folded(record: TrainRecord, outcome: Any) -> TrainRecord:
    """The record after the Release action: its id, url and state kept (None: skipped)."""
    if not isinstance(outcome, dict):
        return record
    data = {**recorded(record), **outcome}
    return replace(record, extra={**record.extra, RECORD_KEY: data})


def title(record: TrainRecord, state: str) -> str:
    return f"Release train {record.id}" + (" (rolled back)" if state == ROLLED_BACK else "")


def tag_message(record: TrainRecord) -> str:
    """The annotated tag's message: the train and where its record is."""
    return f"Release train {record.id}\n\nTrain-Id: {record.id}\nMerge: {record.merge_sha}\n"


def body(record: TrainRecord, notes: str, state: str) -> str:
    """The Release's Markdown: (when rolled back, what was reverted and the incident), the
    release notes, and the artifact table."""
    parts = [rollback_section(record)] if state == ROLLED_BACK else []
    parts += [notes.rstrip("\n"), artifact_table(record)]
    return "\n\n".join(p for p in parts if p) + "\n"


def rollback_section(record: TrainRecord) -> str:
    promotion = pm.load(record)
    lines = [f"> **Rolled back**: {untrusted.inline(record.end_reason) or 'no reason given'}."]
    reverted = [s for s in promotion.steps if s.status == pm.REVERTED]
    for step in reverted:
        what = ", ".join(f"{b.service} {b.old or '(none)'} → {b.new}" for b in step.bumps)
        commits = f"`{step.commit[:12]}` reverted by `{step.revert_commit[:12]}`"
        lines.append(f"> - {untrusted.inline(step.name)}: {commits}" +
                     (f" ({untrusted.inline(what)})" if what else ""))  # fmt: skip
    if not reverted:
        lines.append("> - nothing had been bumped yet")
    if promotion.incident:
        lines.append(f"> Incident: #{promotion.incident}")
    lines.append("> This Release is not the latest; the previous one still is.")
    return "\n".join(lines)


def artifact_rows(record: TrainRecord) -> tuple[list[tuple[str, str, str, str]], str]:
    """(service, tag, digest, revision) rows and where they come from: the train's
    recorded artifact set, else the tags the promotion's bump commits wrote."""
    try:
        recorded_set = arts.of_record(record)
    except ValueError:
        recorded_set = None
    if recorded_set is not None:
        rows = [(a.service, a.tag, a.digest, a.revision or recorded_set.revision)
                for a in recorded_set.artifacts if a.ships]  # fmt: skip
        return rows, "the train's recorded artifact set"
    tags: dict[str, str] = dict(pm.load(record).tags)
    for step in pm.load(record).steps:
        tags.update({b.service: b.new for b in step.bumps})
    rows = [(s, t, "", record.merge_sha) for s, t in sorted(tags.items())]
    return rows, "the tags the promotion's bump commits wrote (no artifact set was recorded)"


def artifact_table(record: TrainRecord) -> str:
    rows, source = artifact_rows(record)
    lines = ["## Artifacts", ""]
    if not rows:
        return "\n".join([*lines, "No service ships yet.", "", f"_Source: {source}._"])
    lines += ["| service | tag | digest | revision |", "|---|---|---|---|"]
    for service, tag, digest, revision in rows:
        cells = (untrusted.cell(service), _code(tag), _code(digest), _code(revision[:12]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", f"_Source: {source}._"])


def _code(text: str) -> str:
    """A tag, digest or sha in a code span; anything else as an inert cell; "–" when empty."""
    if _PLAIN.fullmatch(text):
        return f"`{text}`"
    return untrusted.cell(text) if text else "–"
