"""The pure core on plain values: log parsing, evidence, summaries, verify over a History
built in memory (with a property: honest ledgers pass, any state jump is caught), charts and
the output formats."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.core.ledger import (
    INDEX_PATH,
    TrainRecord,
    commit_message,
    encode,
    encode_index,
    index_entry,
    transition_trailers,
)
from bot.insights.charts import bar_chart
from bot.insights.facts import parse_evidence
from bot.insights.gitlog import parse_log
from bot.insights.metrics import compute
from bot.insights.model import NULL_BLOB, Change, Commit, History
from bot.insights.render import render_audit, render_findings, render_metrics
from bot.insights.timeline import build_timelines, summarize
from bot.insights.verify import verify

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PATHS = {
    "boarding": ["departed", "aborted"],
    "departed": ["merged", "aborted"],
    "merged": ["promoting", "completed", "rolled_back"],
    "promoting": ["completed", "rolled_back"],
}


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class Builder:
    """A ledger History in memory, written like the bot writes it."""

    def __init__(self) -> None:
        self.commits: list[Commit] = []
        self.blobs: dict[str, str] = {}
        self.current: dict[str, str] = {}
        self.index: dict[str, dict[str, object]] = {}

    def write(self, record: TrainRecord, event: str, text: str | None = None) -> None:
        message = commit_message(event, record.id, transition_trailers([event], record))
        self.index[record.id] = index_entry(record)
        files = {
            record.path: encode(record) if text is None else text,
            INDEX_PATH: encode_index(self.index),
        }
        changes = []
        for path, body in files.items():
            sha = _sha(body)
            self.blobs[sha] = body
            changes.append(Change(path, self.current.get(path, NULL_BLOB), sha))
            self.current[path] = sha
        parents = (self.commits[-1].sha,) if self.commits else ()
        at = T0 + timedelta(minutes=len(self.commits))
        self.commits.append(
            Commit(
                _sha(message + str(len(self.commits))), parents, "bot", at, message, tuple(changes)
            )
        )

    def history(self) -> History:
        tip = {p: self.blobs[s] for p, s in self.current.items()}
        return History(tuple(self.commits), (), self.blobs, tip, True, "ledger", "")


def _walk(choices: list[int]) -> list[str]:
    states = ["boarding"]
    for choice in choices:
        nxt = PATHS.get(states[-1])
        if not nxt:
            break
        states.append(nxt[choice % len(nxt)])
    return states


def _ledger(states: list[str], skip: int | None = None) -> History:
    builder = Builder()
    record = TrainRecord(id="web-2026-03-02", train="web", created_at=T0, state_since=T0)
    record = record.with_event("create", T0)
    for i, state in enumerate(states):
        at = T0 + timedelta(minutes=i)
        if i:
            record = replace(record, state=state, state_since=at).with_event(state, at)
        if i != skip:
            builder.write(record, state if i else "board")
    return builder.history()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), max_size=6))
def test_honest_ledgers_pass(choices: list[int]) -> None:
    assert verify(_ledger(_walk(choices))) == ()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=6), st.integers(1, 5))
@example(choices=[0, 0], drop=1)  # boarding -> (departed dropped) -> merged
def test_a_missing_transition_is_found(choices: list[int], drop: int) -> None:
    states = _walk(choices)
    if drop >= len(states) - 1 or PATHS.get(states[drop - 1], []).count(states[drop + 1]):
        return  # dropping this one leaves a legal jump (e.g. merged -> completed)
    findings = verify(_ledger(states, skip=drop))
    assert [f.kind for f in findings] == ["invalid-transition"]


def test_parse_log_reads_fields_and_raw_changes() -> None:
    raw = (
        "\x1eaaa\x1fppp\x1fbot\x1fbot@example.com\x1f2026-03-02T09:00:00+00:00"
        "\x1fdepart: web-1\n\nTrain-Id: web-1\n"
        "\x1f\n:100644 100644 " + "1" * 40 + " " + "2" * 40 + " M\ttrains/web-1.json\n"
        "\x1ebbb\x1f\x1fbot\x1f\x1f2026-03-02T08:00:00+00:00\x1fboard: web-1\x1f\n"
    )
    first, second = parse_log(raw)
    assert first.sha == "aaa" and first.parents == ("ppp",) and first.trailer("Train-Id") == "web-1"
    assert first.changes == (Change("trains/web-1.json", "1" * 40, "2" * 40),)
    assert first.email == "bot@example.com" and first.verified is None
    assert second.parents == () and second.changes == () and second.subject == "board: web-1"


def test_parse_evidence() -> None:
    ev = parse_evidence("checkout-errors 0.052 > 0.01 (5m)")
    assert ev is not None and (ev.slo, ev.value, ev.threshold, ev.window) == (
        "checkout-errors",
        0.052,
        0.01,
        "5m",
    )
    assert parse_evidence("latency-p99 450 > 300") is not None
    assert parse_evidence("no numbers here") is None


def test_unknown_events_are_summarised_from_their_trailers() -> None:
    trailers = (("Train-Id", "web-1"), ("Event", "canary-paused"), ("Region", "eu-west"))
    assert summarize("canary-paused", trailers, None) == "canary-paused (Region=eu-west)"
    assert summarize("held", (("Service", "web"),), None) == "service web held"


def test_outputs_are_well_formed() -> None:
    history = _ledger(["boarding", "departed", "aborted"])
    timelines = build_timelines(history)
    doc = json.loads(render_audit(timelines, "json"))
    assert [e["kind"] for e in doc["trains"][0]["events"]] == ["board", "departed", "aborted"]
    assert render_audit(timelines, "csv").count("\n") == 4
    assert render_findings((), "table").startswith("ok")
    assert json.loads(render_findings((), "json")) == {"ok": True, "findings": []}
    metrics = json.loads(render_metrics(compute(timelines), "json"))["metrics"]
    success = next(m for m in metrics if m["name"] == "release_success_rate")
    assert success["value"] == 0.0 and success["sample"] == 1  # departed, ended aborted


def test_bar_chart_is_labelled_and_escaped() -> None:
    svg = bar_chart("c1", "PRs <per> train", [("a&b", 2.0), ("c", 0.0)], unit="PRs")
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="c1-t c1-d"' in svg
    assert "PRs &lt;per&gt; train" in svg and "a&amp;b" in svg and "a&b" not in svg
