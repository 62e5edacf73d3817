"""Audit, verify and metrics over a big ledger, read from a real git repository.

Usage: .venv/bin/python bench/bench_insights.py [--quick] [--trains 1000] [--events-per-train 10]
       [--keep DIR]

Builds (with one `git fast-import`) a repository whose ledger holds trains x events commits
(default 1,000 trains x 10 events = 10,000 ledger events, written as the bot writes them:
the record JSON, the index, trailers) and a base branch with a merge and two stage bumps per
train. Then times: reading both branches (git log + cat-file), building the timelines
(audit), verify, and metrics over all trains. Goals (issue 9): audit < 2 s, metrics < 1 s.
"""

from __future__ import annotations

import argparse
import bisect
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.commands._common import render_table
from bot.core.ledger import (
    INDEX_PATH,
    Boarded,
    TrainRecord,
    commit_message,
    encode,
    encode_index,
    index_entry,
    transition_trailers,
)
from bot.insights.gitlog import read_history
from bot.insights.metrics import compute
from bot.insights.timeline import build_timelines
from bot.insights.verify import verify

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
STAGES = ("staging", "production")


class Stream:
    """A `git fast-import` stream for two branches."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.mark = 0
        self.tips: dict[str, int] = {}

    def commit(self, branch: str, at: datetime, message: str, files: dict[str, str]) -> int:
        self.mark += 1
        stamp = f"release-train <bot@example.com> {int(at.timestamp())} +0000"
        data = message.encode()
        out = [
            f"commit refs/heads/{branch}\nmark :{self.mark}\nauthor {stamp}\ncommitter {stamp}\n"
            f"data {len(data)}\n".encode(),
            data,
            b"\n",
        ]
        if branch in self.tips:
            out.append(f"from :{self.tips[branch]}\n".encode())
        for path, text in files.items():
            blob = text.encode()
            out.append(f"M 100644 inline {path}\ndata {len(blob)}\n".encode() + blob + b"\n")
        self.parts.append(b"".join(out) + b"\n")
        self.tips[branch] = self.mark
        return self.mark


def _events(n: int) -> list[tuple[str, str, str]]:
    """(event, new state or '', stage) for one train's n ledger events."""
    seq = [("board", "", ""), ("depart", "departed", ""), ("merge", "merged", "")]
    for stage in STAGES:
        seq += [
            ("stage-started", "promoting", stage),
            ("stage-verdict", "", stage),
            ("stage-completed", "", stage),
        ]
    seq.append(("complete", "completed", ""))
    while len(seq) < n:
        seq.insert(1, ("notify", "", ""))
    return seq[:n]


def _plan(trains: int, per_train: int) -> list[tuple[str, datetime, str, str, str, int]]:
    """(train id, time, event, new state, stage, train number) for every ledger event."""
    plan = []
    at = T0
    for t in range(trains):
        day = (T0 + timedelta(days=t // 3)).date().isoformat()
        for event, state, stage in _events(per_train):
            at += timedelta(minutes=3)
            plan.append((f"web{t % 3}-{day}", at, event, state, stage, t))
    return plan


def _base_commits(path: Path, plan: list[tuple[str, datetime, str, str, str, int]]) -> list[str]:
    """The merge and bump commits on main (one fast-import); their shas, one per plan entry."""
    stream = Stream()
    stream.commit("main", T0, "initial\n", {"README.md": "# bench\n"})
    marks: list[int] = []
    for train_id, at, event, _, stage, t in plan:
        mark = 0
        if event == "merge":
            msg = (
                f"Release train {train_id}\n\nTrain-Id: {train_id}\nApproved-By: rm\n"
                "Gates: ci=success, security=success\n"
            )
            mark = stream.commit("main", at, msg, {"merged.txt": train_id})
        elif event == "stage-started":
            msg = (
                f"promote {train_id} to {stage}\n\nTrain-Id: {train_id}\nStage: {stage}\n"
                f"Bump: web 1.0.{t} -> 1.0.{t + 1}\n"
            )
            mark = stream.commit("main", at, msg, {f"deploy/{stage}.txt": train_id})
        marks.append(mark)
    marks_file = path / ".git" / "bench-marks"
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet", f"--export-marks={marks_file}"],
        input=b"".join(stream.parts),
        check=True,
    )
    shas = dict(line.split() for line in marks_file.read_text().splitlines())
    return [shas[f":{m}"] if m else "" for m in marks]


class Index:
    """`encode_index` output kept up to date one entry at a time (the bot re-encodes the whole
    index per commit; here that would make building the bench repo slow, not the audit)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.parts: dict[str, str] = {}

    def set(self, train_id: str, entry: dict[str, object]) -> str:
        if train_id not in self.parts:
            bisect.insort(self.ids, train_id)
        self.parts[train_id] = encode_index({train_id: entry})[2:-3]
        return "{\n" + ",\n".join(self.parts[i] for i in self.ids) + "\n}\n"


def build(path: Path, trains: int, per_train: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    plan = _plan(trains, per_train)
    shas = _base_commits(path, plan)
    stream = Stream()
    index = Index()
    records: dict[str, TrainRecord] = {}
    for (train_id, at, event, state, stage, _), sha in zip(plan, shas, strict=True):
        record = records.get(train_id) or TrainRecord(
            id=train_id,
            train=train_id.split("-")[0],
            created_at=at,
            state_since=at,
            boarded=tuple(Boarded(n, at, f"PR {n}", "dev") for n in range(1, 4)),
        )
        if state:
            record = replace(record, state=state, state_since=at)
        if event == "merge":
            record = replace(record, approved_by=("rm",), merge_sha=sha)
        extra: list[tuple[str, str]] = [("Stage", stage)] if stage else []
        if event == "stage-started":
            extra.append(("Commit", sha))
        if event == "stage-verdict":
            extra += [("Verdict", "pass"), ("Evidence", "err 0.001 > 0.01 (5m)")]
        record = record.with_event(state or event, at)
        records[train_id] = record
        message = commit_message(event, train_id, transition_trailers([event], record) + extra)
        files = {record.path: encode(record), INDEX_PATH: index.set(train_id, index_entry(record))}
        stream.commit("release-train/ledger", at, message, files)
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(stream.parts), check=True
    )


def _timed(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trains", type=int, default=1000)
    parser.add_argument("--events-per-train", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="100 trains (a smoke run)")
    parser.add_argument("--keep", metavar="DIR", help="build the repo here and reuse it next time")
    args = parser.parse_args()
    if args.quick:
        args.trains = min(args.trains, 100)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(args.keep) if args.keep else Path(tmp) / "repo"
        start = time.perf_counter()
        if not (repo / ".git").exists():
            build(repo, args.trains, args.events_per_train)
        built = time.perf_counter() - start
        read_s, history = _timed(lambda: read_history(repo))
        audit_s, timelines = _timed(lambda: build_timelines(read_history(repo)))
        verify_s, findings = _timed(lambda: verify(read_history(repo)))
        metrics_s, metrics = _timed(lambda: compute(timelines))
        fresh_s, _ = _timed(lambda: compute(build_timelines(read_history(repo))))
    events = len(history.ledger)
    rows = [
        [
            "build repo (fast-import, not measured)",
            f"{built:.2f}" if built > 0.05 else "reused",
            "",
            "",
        ],
        [
            "read both branches (git log, cat-file)",
            f"{read_s:.2f}",
            f"{events} ledger + {len(history.base)} base commits",
            "",
        ],
        ["audit (read + timelines)", f"{audit_s:.2f}", f"{len(timelines)} trains", "< 2 s"],
        ["verify (read + checks)", f"{verify_s:.2f}", f"{len(findings)} findings", ""],
        [
            "metrics (over the timelines)",
            f"{metrics_s:.3f}",
            f"{len(metrics.trains)} trains",
            "< 1 s",
        ],
        ["metrics (read + timelines + metrics)", f"{fresh_s:.2f}", "", ""],
    ]
    print(render_table(["step", "seconds (best of 3)", "size", "goal"], rows))
    if findings:
        print("unexpected findings:", findings[:3], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
