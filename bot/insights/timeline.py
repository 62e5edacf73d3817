"""Commits -> per-train timelines (pure).

Each ledger commit becomes one timeline event (its subject's event, with every `Event`
trailer summarised); each base-branch commit carrying `Train-Id` becomes one too (train
merge, stage bump, revert, a PR landing). Known events get a specific summary; events this
version does not know still appear, summarised from their trailers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core import bisect
from bot.core.ledger import Event, TrainRecord, record_path
from bot.insights.model import NULL_BLOB, Commit, History, decode_record

LEDGER, BASE = "ledger", "base"
# trailers every ledger commit carries; generic summaries leave them out
_COMMON = frozenset({"Train-Id", "Event", "Actor", "Delivery", "State", "Boarded", "Missed"})
_COMMON |= {"Train-PR", "Merge-Sha", "Approved-By", "Reason"}


@dataclass(frozen=True)
class TimelineEvent:
    train_id: str
    at: datetime
    kind: str
    actor: str
    summary: str
    commit: str
    branch: str  # LEDGER or BASE
    details: tuple[tuple[str, str], ...] = ()

    def detail(self, key: str) -> str:
        return next((v for k, v in self.details if k == key), "")

    def details_of(self, key: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.details if k == key)


@dataclass(frozen=True)
class TrainTimeline:
    train_id: str
    record: TrainRecord | None  # the ledger file at the tip
    events: tuple[TimelineEvent, ...] = ()

    @property
    def state(self) -> str:
        return self.record.state if self.record else "unknown"


@dataclass(frozen=True)
class _Ctx:
    trailers: tuple[tuple[str, str], ...]
    load: Callable[[], TrainRecord | None]  # the record after the commit, decoded on demand
    added: tuple[Event, ...]

    @property
    def record(self) -> TrainRecord | None:
        return self.load()

    def value(self, key: str) -> str:
        return next((v for k, v in self.trailers if k == key), "")

    def values(self, key: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.trailers if k == key)


def _missed(ctx: _Ctx) -> str:
    if ctx.record is None or not ctx.record.missed:
        return ", ".join(ctx.values("Missed"))
    return ", ".join(f"#{m.number} ({m.reason}: {m.detail or m.reason})" for m in ctx.record.missed)


def _boarded(ctx: _Ctx) -> str:
    if ctx.record is None or not ctx.record.boarded:
        return ctx.value("Boarded") or "nothing"
    return ", ".join(f"#{b.number} {b.title}".strip() for b in ctx.record.boarded)


def _depart(ctx: _Ctx) -> str:
    missed = _missed(ctx)
    return f"departed with {_boarded(ctx)}" + (f"; missed {missed}" if missed else "")


def _merge(ctx: _Ctx) -> str:
    sha = ctx.value("Merge-Sha")
    who = ctx.value("Approved-By") or "nobody recorded"
    return f"merged{f' as {sha[:12]}' if sha else ''}, approved by {who}"


def _detail(ctx: _Ctx, name: str) -> str:
    return next((e.detail for e in ctx.added if e.event == name and e.detail), "")


def _gate_details(ctx: _Ctx) -> str:
    """``ci=success, policy=action_required``: each gate transition this commit recorded
    (the ledger keeps ``<gate>=<conclusion>: <title>`` as the event detail)."""
    heads = (e.detail.split(":", 1)[0].strip() for e in ctx.added if e.event == "gate")
    return ", ".join(h for h in heads if h)


def _verdict(ctx: _Ctx) -> str:
    evidence = "; ".join(ctx.values("Evidence"))
    text = f"stage {ctx.value('Stage')} verdict {ctx.value('Verdict') or '?'}"
    return text + (f" ({evidence})" if evidence else "")


def _culprit(ctx: _Ctx) -> str:
    """``culprit isolation: found after 3 rounds; culprit #4`` (from the record's state)."""
    state = bisect.load(ctx.record.extra) if ctx.record else None
    if state is None:
        return "culprit isolation"
    text = f"culprit isolation: {state.phase} after {state.rounds} round(s)"
    named = ", ".join(" with ".join(f"#{n}" for n in group) for group in state.culprits)
    return (
        text
        + (f"; culprit {named}" if named else "")
        + (f" ({state.detail})" if state.detail else "")
    )


def _rolled_back(ctx: _Ctx) -> str:
    evidence = "; ".join(ctx.values("Evidence")) or ctx.value("Reason")
    incident = ctx.value("Incident")
    return (
        "rolled back"
        + (f": {evidence}" if evidence else "")
        + (f"; incident {incident}" if incident else "")
    )


_SUMMARIES: dict[str, Callable[[_Ctx], str]] = {
    "create": lambda c: "train created",
    "board": lambda c: f"boarded {c.value('Boarded') or _boarded(c)}",
    "deboard": lambda c: f"deboarded {_detail(c, 'deboard')}".strip(),
    "notify": lambda c: "told the PRs",
    "depart": _depart,
    "open-pr": lambda c: f"opened train PR {c.value('Train-PR')}".strip(),
    "merge": _merge,
    "land": lambda c: f"landed {' '.join(f'#{n}' for n in c.record.landed) if c.record else ''}",
    "abort": lambda c: f"aborted: {c.value('Reason') or _detail(c, 'aborted') or '?'}",
    "hold": lambda c: f"held: {_detail(c, 'hold') or (c.record.hold_reason if c.record else '')}",
    "resume": lambda c: "resumed",
    "gate": lambda c: f"gate results {', '.join(c.values('Gate')) or _gate_details(c) or '?'}",
    "artifacts": lambda c: (
        f"artifacts: {'; '.join(c.values('Artifact')) or _detail(c, 'artifacts')}"
    ),
    "culprit": _culprit,
    "stage-started": lambda c: f"stage {c.value('Stage')} started at {c.value('Commit')[:12]}",
    "stage-verdict": _verdict,
    "stage-syncing": lambda c: f"stage {c.value('Stage')} waits for Argo CD: {c.value('Waiting')}",
    "stage-deployed": lambda c: f"stage {c.value('Stage')} Synced and Healthy in Argo CD",
    "stage-completed": lambda c: f"stage {c.value('Stage')} completed",
    "rolled-back": _rolled_back,
    "held": lambda c: f"service {c.value('Service')} held",
    "released": lambda c: f"service {c.value('Service')} released",
}


def _generic(name: str, ctx: _Ctx) -> str:
    extra = [f"{k}={v}" for k, v in ctx.trailers if k not in _COMMON]
    return name + (f" ({', '.join(extra)})" if extra else "")


def summarize(
    event: str,
    trailers: tuple[tuple[str, str], ...],
    record: TrainRecord | Callable[[], TrainRecord | None] | None,
    added: tuple[Event, ...] = (),
) -> str:
    """One event's sentence, specific for known events and generic otherwise."""
    ctx = _Ctx(trailers, record if callable(record) else (lambda: record), added)
    known = _SUMMARIES.get(event)
    return known(ctx) if known else _generic(event, ctx)


# -- ledger commits ---------------------------------------------------------------------


decode_or_none = decode_record


def record_versions(
    commit: Commit, train_id: str, history: History
) -> tuple[TrainRecord | None, TrainRecord | None]:
    """The train's record before and after `commit` (None when absent or unreadable)."""
    path = record_path(train_id)
    for change in commit.changes:
        if change.path == path:
            before = history.record(change.old_blob) if change.old_blob != NULL_BLOB else None
            return before, history.record(change.new_blob)
    return None, None


def added_history(before: TrainRecord | None, after: TrainRecord | None) -> tuple[Event, ...]:
    if after is None:
        return ()
    old = before.history if before else ()
    if after.history[: len(old)] == old:
        return after.history[len(old) :]
    return after.history


def _raw_added(commit: Commit, train_id: str, history: History) -> tuple[Event, ...]:
    """History entries this commit appended to the train's record (from the raw JSON)."""
    path = record_path(train_id)
    change = next((c for c in commit.changes if c.path == path), None)
    if change is None:
        return ()
    after = history.raw(change.new_blob) or {}
    before = history.raw(change.old_blob) or {} if change.old_blob != NULL_BLOB else {}
    new, old = after.get("history") or [], before.get("history") or []
    added = new[len(old) :] if new[: len(old)] == old else new
    try:
        return tuple(
            Event(
                e["event"], datetime.fromisoformat(e["at"]), e.get("actor", ""), e.get("detail", "")
            )
            for e in added
        )
    except (KeyError, TypeError, ValueError):
        return ()


def _loader(commit: Commit, train_id: str, history: History) -> Callable[[], TrainRecord | None]:
    path = record_path(train_id)
    change = next((c for c in commit.changes if c.path == path), None)
    if change is None:
        return lambda: None
    return lambda: history.record(change.new_blob)


# commit events whose record-history entry has another name
_ENTRY_NAMES = {
    "depart": "departed",
    "merge": "merged",
    "abort": "aborted",
    "complete": "completed",
    "rolled-back": "rolled_back",
    "board": "create",
}


class _TipEntries:
    """Without per-commit files (the REST API), match each commit's events to the tip
    record's history entries of the same name, in order, for their times, actors and details."""

    def __init__(self, records: dict[str, TrainRecord]) -> None:
        self.records = records
        self.queues: dict[tuple[str, str], list[Event]] = {}
        for record in records.values():
            for entry in record.history:
                self.queues.setdefault((record.id, entry.event), []).append(entry)

    def take(self, train_id: str, names: list[str]) -> tuple[Event, ...]:
        out = []
        for name in names:
            for key in dict.fromkeys((name, _ENTRY_NAMES.get(name, name))):
                queue = self.queues.get((train_id, key))
                if queue:
                    out.append(queue.pop(0))
                    break
        return tuple(out)


def ledger_event(
    commit: Commit, history: History, tips: _TipEntries | None = None
) -> TimelineEvent | None:
    event, subject_id, trailers = commit.parsed
    train_id = next((v for k, v in trailers if k == "Train-Id"), "") or subject_id
    if not train_id or not event or " " in event:
        return None
    names = [v for k, v in trailers if k == "Event"] or [event]
    if tips is None:
        added = _raw_added(commit, train_id, history)
        load = _loader(commit, train_id, history)
    else:
        added = tips.take(train_id, names)
        tip = tips.records.get(train_id)
        load = lambda: tip  # noqa: E731
    summary = "; ".join(summarize(name, trailers, load, added) for name in names)
    actors = [e.actor for e in added if e.actor]
    actor = actors[0] if actors else (next((v for k, v in trailers if k == "Actor"), ""))
    at = max((e.at for e in added), default=commit.at)
    return TimelineEvent(
        train_id, at, event, actor or commit.author, summary, commit.sha, LEDGER, trailers
    )


# -- base-branch commits ----------------------------------------------------------------


def base_kind(commit: Commit) -> str:
    subject = commit.subject
    if subject.startswith("promote "):
        return "promote"
    if subject.startswith("revert "):
        return "revert"
    if commit.trailer("Approved-By") or commit.trailer("Gates"):
        return "train-merge"
    if subject.startswith("Merged in release train"):
        return "pr-landed"
    if subject.startswith("Board #"):
        return "pr-boarded"
    return "base-commit"


def _base_summary(kind: str, commit: Commit) -> str:
    if kind == "promote":
        bumps = ", ".join(commit.trailer_values("Bump")) or commit.trailer("Services")
        return f"promoted to {commit.trailer('Stage')}: {bumps}"
    if kind == "revert":
        evidence = "; ".join(commit.trailer_values("Evidence"))
        text = f"reverted {commit.trailer('Stage')} (reverts {commit.trailer('Reverts')[:12]})"
        return text + (f": {evidence}" if evidence else "")
    if kind == "train-merge":
        gates = commit.trailer("Gates") or "none recorded"
        return (
            f"train merged into base as {commit.sha[:12]}: approved by "
            f"{commit.trailer('Approved-By') or 'nobody recorded'}, gates {gates}"
        )
    if kind == "pr-landed":
        return f"PR landed on base as {commit.sha[:12]}"
    if kind == "pr-boarded":
        return (
            f"{commit.subject.split(' on ')[0].replace('Board', 'merged')} into the release branch"
        )
    return commit.subject


def base_event(commit: Commit) -> TimelineEvent | None:
    train_id = commit.trailer("Train-Id")
    if not train_id:
        return None
    kind = base_kind(commit)
    actor = commit.author
    return TimelineEvent(
        train_id,
        commit.at,
        kind,
        actor,
        _base_summary(kind, commit),
        commit.sha,
        BASE,
        commit.trailers(),
    )


# -- per train ----------------------------------------------------------------------------


def tip_records(history: History) -> dict[str, TrainRecord]:
    records: dict[str, TrainRecord] = {}
    for path, text in history.tip_files.items():
        if path.startswith("trains/") and path.endswith(".json"):
            record = decode_or_none(text)
            if record is not None:
                records[record.id] = record
    return records


def all_events(history: History) -> list[TimelineEvent]:
    tips = None if history.changes_known else _TipEntries(tip_records(history))
    events = [e for c in history.ledger if (e := ledger_event(c, history, tips)) is not None]
    events += [e for c in history.base if (e := base_event(c)) is not None]
    return events


def build_timelines(
    history: History, *, train: str | None = None, since: datetime | None = None
) -> tuple[TrainTimeline, ...]:
    """Every train's timeline, oldest train first; `train` and `since` filter."""
    records = tip_records(history)
    grouped: dict[str, list[TimelineEvent]] = {}
    for event in all_events(history):
        grouped.setdefault(event.train_id, []).append(event)
    for train_id in records:
        grouped.setdefault(train_id, [])
    out: list[TrainTimeline] = []
    for train_id, events in grouped.items():
        if train and train_id != train:
            continue
        events = _ordered(events)
        if since and not any(e.at >= since for e in events):
            continue
        out.append(TrainTimeline(train_id, records.get(train_id), tuple(events)))
    out.sort(key=lambda t: (t.events[0].at if t.events else _created(t.record), t.train_id))
    return tuple(out)


def _ordered(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """Ledger events in commit order (the ledger's order is the truth), base events merged in
    by time before the first later ledger event."""
    ledger = [e for e in events if e.branch == LEDGER]
    base = sorted((e for e in events if e.branch != LEDGER), key=lambda e: e.at)
    out: list[TimelineEvent] = []
    i = 0
    for event in ledger:
        while i < len(base) and base[i].at < event.at:
            out.append(base[i])
            i += 1
        out.append(event)
    return out + base[i:]


def _created(record: TrainRecord | None) -> datetime:
    if record and record.created_at:
        return record.created_at
    return datetime.fromtimestamp(0, UTC)


def flatten(timelines: Iterable[TrainTimeline]) -> list[TimelineEvent]:
    return [e for t in timelines for e in t.events]
