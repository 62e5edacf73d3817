"""`audit verify` (pure): does the Git history hold together? Each finding names its commit.

Checks: the ledger is linear; every ledger commit is a ledger event and touches only its own
train's file (and the index); each file's content matches what the commit's trailers say;
each train's states form a valid path (`can_transition`) from `boarding` and its history
only grows; the index at the tip lists exactly the train files; and the base branch agrees
with the ledger (train merges, stage bumps and reverts each have their ledger event, each
such event its commit, and no base commit claims a train the ledger does not know); every
bump commit writes its train's recorded artifacts (`bot.insights.verify_artifacts`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.core.holds import HOLDS_PATH
from bot.core.ledger import (
    BOARDING,
    INDEX_PATH,
    TrainRecord,
    decode_index,
    record_path,
    transition_trailers,
)
from bot.core.train import can_transition
from bot.insights.model import NULL_BLOB, Commit, History
from bot.insights.timeline import BASE, LEDGER, base_kind, decode_or_none, record_versions
from bot.insights.trust import BOT_TRAILERS
from bot.insights.verify_artifacts import check_artifacts

# trailers `transition_trailers` derives from the record: they must match the file
CHECKED_TRAILERS = (
    "Train-Id",
    "State",
    "Boarded",
    "Missed",
    "Train-PR",
    "Merge-Sha",
    "Approved-By",
    "Reason",
)


@dataclass(frozen=True)
class Finding:
    kind: str
    commit: str
    branch: str
    train_id: str
    message: str


def _ledger_event(commit: Commit) -> tuple[str, str, tuple[tuple[str, str], ...]] | None:
    event, subject_id, trailers = commit.parsed
    ids = [v for k, v in trailers if k == "Train-Id"]
    if not event or " " in event or not subject_id or ids != [subject_id]:
        return None
    if not any(k == "Event" for k, _ in trailers):
        return None
    return event, subject_id, trailers


def _f(kind: str, commit: Commit, train_id: str, message: str, branch: str = LEDGER) -> Finding:
    return Finding(kind, commit.sha, branch, train_id, message)


def check_linear(ledger: Iterable[Commit]) -> Iterator[Finding]:
    previous: Commit | None = None
    for commit in ledger:
        if len(commit.parents) > 1:
            yield _f("ledger-merge", commit, "", "the ledger has a merge commit; it must be linear")
        elif previous is not None and commit.parents != (previous.sha,):
            yield _f("ledger-broken", commit, "", "the ledger's history is not one line here")
        elif previous is None and commit.parents:
            yield _f("ledger-broken", commit, "", "the ledger's first commit has a parent")
        previous = commit


def _trailer_mismatches(trailers: tuple[tuple[str, str], ...], record: TrainRecord) -> list[str]:
    events = [v for k, v in trailers if k == "Event"]
    actor = next((v for k, v in trailers if k == "Actor"), "")
    expected = transition_trailers(events, record, actor=actor)
    out = []
    for key in CHECKED_TRAILERS:
        want = [" ".join(v.split()) for k, v in expected if k == key]
        have = [v for k, v in trailers if k == key]
        if want != have:
            out.append(f"{key}: trailer says {have or 'nothing'}, file says {want or 'nothing'}")
    return out


def _check_files(commit: Commit, train_id: str | None) -> Iterator[Finding]:
    own = record_path(train_id) if train_id else None
    for change in commit.changes:
        if change.path == INDEX_PATH or change.path == own:
            continue
        if train_id is not None and change.path == HOLDS_PATH:
            continue  # a train's revert holds its services; a resume releases them
        if train_id is None:
            yield _f(
                "not-a-ledger-event",
                commit,
                "",
                f"{change.path} changed by a commit whose message is not a ledger event",
            )
        else:
            yield _f(
                "foreign-file", commit, train_id, f"{change.path} changed by an event of {train_id}"
            )


def _check_record(
    commit: Commit, train_id: str, trailers: tuple[tuple[str, str], ...], history: History
) -> Iterator[Finding]:
    path = record_path(train_id)
    change = next((c for c in commit.changes if c.path == path), None)
    if change is None or change.new_blob == NULL_BLOB:
        return
    before, after = record_versions(commit, train_id, history)
    if after is None:
        yield _f("edited-file", commit, train_id, f"{path} is not a readable train record")
        return
    if after.id != train_id:
        yield _f("edited-file", commit, train_id, f"{path} holds train {after.id!r}")
    for problem in _trailer_mismatches(trailers, after):
        yield _f("edited-file", commit, train_id, f"{path} does not match the trailers: {problem}")
    if before is None and change.old_blob == NULL_BLOB and after.state != BOARDING:
        yield _f(
            "missing-history",
            commit,
            train_id,
            f"{path} first appears in state "
            f"{after.state!r}, not boarding: its earlier ledger commits are gone",
        )
    if before is not None:
        yield from _check_step(commit, train_id, before, after)


def _check_step(
    commit: Commit, train_id: str, before: TrainRecord, after: TrainRecord
) -> Iterator[Finding]:
    if before.state != after.state and not can_transition(before.state, after.state):
        yield _f(
            "invalid-transition",
            commit,
            train_id,
            f"{before.state} -> {after.state} is "
            "not a transition of the state machine (dropped ledger commits?)",
        )
    if after.history[: len(before.history)] != before.history:
        yield _f(
            "history-rewritten",
            commit,
            train_id,
            "the record's earlier history differs from the previous version",
        )


def _check_states(
    commit: Commit, train_id: str, state: str, last: dict[str, str]
) -> Iterator[Finding]:
    """State path from the trailers alone (used when file contents are not available)."""
    previous = last.get(train_id)
    if previous is None and state != BOARDING:
        yield _f("missing-history", commit, train_id, f"first ledger event is in state {state!r}")
    elif previous is not None and previous != state and not can_transition(previous, state):
        yield _f(
            "invalid-transition",
            commit,
            train_id,
            f"{previous} -> {state} is not a "
            "transition of the state machine (dropped ledger commits?)",
        )
    last[train_id] = state


def check_ledger(history: History) -> Iterator[Finding]:
    last: dict[str, str] = {}
    latest: dict[str, tuple[Commit, tuple[tuple[str, str], ...]]] = {}
    for commit in history.ledger:
        parsed = _ledger_event(commit)
        if parsed is None:
            if history.changes_known:
                yield from _check_files(commit, None)
            else:
                yield _f(
                    "not-a-ledger-event",
                    commit,
                    "",
                    "commit on the ledger branch is not a ledger event",
                )
            continue
        _, train_id, trailers = parsed
        state = next((v for k, v in trailers if k == "State"), "")
        if not history.changes_known:
            yield from _check_states(commit, train_id, state, last) if state else iter(())
            latest[train_id] = (commit, trailers)
            continue
        yield from _check_files(commit, train_id)
        yield from _check_record(commit, train_id, trailers, history)
    yield from _check_tips(history, latest)


def _check_tips(
    history: History, latest: dict[str, tuple[Commit, tuple[tuple[str, str], ...]]]
) -> Iterator[Finding]:
    """Without per-commit files: each train file at the tip says what the train's latest
    ledger commit's trailers say."""
    for train_id, (commit, trailers) in latest.items():
        text = history.tip_files.get(record_path(train_id))
        record = decode_or_none(text)
        if record is None:
            continue
        for problem in _trailer_mismatches(trailers, record):
            yield _f(
                "edited-file",
                commit,
                train_id,
                f"{record_path(train_id)} at the tip does not match its latest event: {problem}",
            )


def check_index(history: History) -> Iterator[Finding]:
    text = history.tip_files.get(INDEX_PATH)
    if text is None or not history.ledger:
        return
    tip = history.ledger[-1]
    try:
        index = decode_index(text)
    except ValueError:
        yield _f("edited-file", tip, "", f"{INDEX_PATH} at the tip is not readable")
        return
    files = {
        p[len("trains/") : -len(".json")]: t
        for p, t in history.tip_files.items()
        if p.startswith("trains/") and p.endswith(".json")
    }
    for train_id in sorted(set(index) - set(files)):
        yield _f(
            "missing-history",
            tip,
            train_id,
            f"{INDEX_PATH} lists {train_id} but "
            f"{record_path(train_id)} is missing (dropped ledger commits?)",
        )
    for train_id, text in sorted(files.items()):
        record = decode_or_none(text)
        entry = index.get(train_id)
        if entry is not None and record is not None and entry.get("state") != record.state:
            yield _f(
                "index-mismatch",
                tip,
                train_id,
                f"{INDEX_PATH} says {entry.get('state')}, the record says {record.state}",
            )


def _ledger_facts(history: History) -> tuple[set[str], set[str], dict[str, set[str]]]:
    """Train ids the ledger knows, commits its events name, and events per train."""
    known: set[str] = set()
    named: set[str] = set()
    events: dict[str, set[str]] = {}
    for commit in history.ledger:
        parsed = _ledger_event(commit)
        if parsed is None:
            continue
        event, train_id, trailers = parsed
        known.add(train_id)
        events.setdefault(train_id, set()).update(v for k, v in trailers if k == "Event")
        events[train_id].add(event)
        named.update(v for k, v in trailers if k in ("Commit", "Merge-Sha") and v)
    known.update(
        p[len("trains/") : -len(".json")] for p in history.tip_files if p.startswith("trains/")
    )
    return known, named, events


_BASE_EVENTS = {"promote": "stage-started", "revert": "rolled-back"}


def check_cross(history: History) -> Iterator[Finding]:
    known, named, events = _ledger_facts(history)
    on_base = {c.sha for c in history.base}
    for commit in history.base:
        train_id = commit.trailer("Train-Id")
        if not train_id:
            continue
        kind = base_kind(commit)
        if train_id not in known:
            yield _f(
                "unknown-train",
                commit,
                train_id,
                f"base commit claims train {train_id}, "
                "which the ledger does not know (made by hand?)",
                BASE,
            )
        elif kind == "train-merge" and commit.sha not in named:
            yield _f(
                "missing-event",
                commit,
                train_id,
                "train merge commit has no ledger merge event naming it",
                BASE,
            )
        elif (
            kind in _BASE_EVENTS
            and commit.sha not in named
            and not (kind == "revert" and _BASE_EVENTS[kind] in events.get(train_id, set()))
        ):
            yield _f(
                "missing-event",
                commit,
                train_id,
                f"{kind} commit has no ledger {_BASE_EVENTS[kind]} event naming it",
                BASE,
            )
    if not history.base_ref:
        return
    for commit in history.ledger:
        parsed = _ledger_event(commit)
        if parsed is None:
            continue
        event, train_id, trailers = parsed
        started = ("Event", "stage-started") in trailers or event == "stage-started"
        if started and not any(k == "Commit" for k, _ in trailers):
            yield _f("missing-commit", commit, train_id, "stage-started event names no Commit")
        for key, sha in trailers:
            if key in ("Commit", "Merge-Sha") and sha and sha not in on_base:
                yield _f(
                    "missing-commit",
                    commit,
                    train_id,
                    f"{event} event names {key} {sha[:12]}, which is not on {history.base_ref}",
                )


def check_forgeries(history: History) -> Iterator[Finding]:
    """Commits that are not the bot's but sit on its ledger or carry its trailers: each is
    a forgery attempt (or a hand edit), reported and never counted."""
    for commit in history.foreign_ledger:
        yield _f(
            "foreign-ledger-commit",
            commit,
            commit.parsed[1],
            f"ledger commit by {commit.author} <{commit.email}>{_unverified(commit)} was not "
            "made by the bot: ignored (protect the ledger branch so only the App may push)",
        )
    for commit in history.forged_base:
        keys = sorted({k for k, _ in commit.trailers() if k in BOT_TRAILERS})
        yield _f(
            "forged-trailers",
            commit,
            commit.trailer("Train-Id"),
            f"commit by {commit.author} <{commit.email}>{_unverified(commit)} carries the "
            f"bot's trailers ({', '.join(keys)}) but the bot did not make it: not counted",
            BASE,
        )


def _unverified(commit: Commit) -> str:
    return " (not verified by GitHub)" if commit.verified is False else ""


def verify(history: History) -> tuple[Finding, ...]:
    """Every finding, ledger order first, then the base branch's."""
    chain = history.ledger_read or history.ledger
    findings = [*check_linear(chain), *check_ledger(history), *check_index(history)]
    findings += check_cross(history)
    findings += check_forgeries(history)
    findings += check_artifacts(history)  # bumps against the recorded artifact sets
    return tuple(dict.fromkeys(findings))
