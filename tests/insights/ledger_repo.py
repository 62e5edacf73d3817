"""A real git repository with a ledger branch written the way the bot writes it (helpers for
the insights tests and bench): records encoded with `bot.core.ledger.encode`, messages with
`commit_message` + `transition_trailers`, commits made with the git CLI's plumbing."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.ledger import (
    INDEX_PATH,
    Boarded,
    Missed,
    TrainRecord,
    commit_message,
    encode,
    encode_index,
    index_entry,
    transition_trailers,
)

LEDGER_REF = "refs/heads/release-train/ledger"
# the App's git identity as GitHub gives it to the commits it makes through the API
BOT_EMAIL = "12345+release-train[bot]@users.noreply.github.com"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class LedgerRepo:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.index: dict[str, dict[str, object]] = {}
        self.clock = T0
        self.base_commit("initial commit\n", {"README.md": "# shop\n"})

    def git(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
        full_env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "release-train",
            "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": "release-train",
            "GIT_COMMITTER_EMAIL": BOT_EMAIL,
            "GIT_AUTHOR_DATE": self.clock.isoformat() if hasattr(self, "clock") else "",
            "GIT_COMMITTER_DATE": self.clock.isoformat() if hasattr(self, "clock") else "",
            **(env or {}),
        }
        done = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            env=full_env,
        )
        return done.stdout.strip()

    def tick(self, minutes: float = 5) -> datetime:
        self.clock += timedelta(minutes=minutes)
        return self.clock

    def _commit(self, ref: str, files: dict[str, str], message: str, author: str = "") -> str:
        tip = self.git("rev-parse", "--verify", "--quiet", ref) if self._has(ref) else ""
        index = str(self.path / ".git" / "tmp-index")
        env = {"GIT_INDEX_FILE": index}
        if author:  # somebody else: their own name and address
            env["GIT_AUTHOR_NAME"] = author
            env["GIT_AUTHOR_EMAIL"] = f"{author}@example.com"
        if tip:
            self.git("read-tree", tip, env=env)
        else:
            self.git("read-tree", "--empty", env=env)
        for path, text in files.items():
            blob = self.git("hash-object", "-w", "--stdin", stdin=text)
            self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = self.git("write-tree", env=env)
        parents = ["-p", tip] if tip else []
        sha = self.git("commit-tree", tree, *parents, "-F", "-", stdin=message, env=env)
        self.git("update-ref", ref, sha)
        return sha

    def _has(self, ref: str) -> bool:
        done = subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--verify", "--quiet", ref],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def base_commit(
        self, message: str, files: dict[str, str] | None = None, author: str = ""
    ) -> str:
        self.tick(1)
        files = files or {"deploy/stamp.txt": f"{self.clock.isoformat()}\n"}
        return self._commit("refs/heads/main", files, message, author)

    def write(
        self,
        record: TrainRecord,
        events: list[str],
        extra: list[tuple[str, str]] | None = None,
        actor: str = "release-train",
        *,
        text: str | None = None,
    ) -> str:
        """One ledger commit for `record` (as the bot writes it; `text` overrides the file)."""
        trailers = transition_trailers(events, record, actor=actor) + (extra or [])
        message = commit_message(events[0], record.id, trailers)
        self.index[record.id] = index_entry(record)
        files = {record.path: text if text is not None else encode(record)}
        files[INDEX_PATH] = encode_index(self.index)
        return self._commit(LEDGER_REF, files, message)

    def raw_ledger_commit(self, files: dict[str, str], message: str) -> str:
        return self._commit(LEDGER_REF, files, message)


def step(
    record: TrainRecord, at: datetime, event: str, state: str | None = None, **kw: object
) -> TrainRecord:
    record = replace(record, **kw) if kw else record  # type: ignore[arg-type]
    if state:
        record = replace(record, state=state, state_since=at)
    return record.with_event(event, at)


def promote(
    repo: LedgerRepo, record: TrainRecord, stage: str, bumps: list[str]
) -> tuple[TrainRecord, str]:
    """A stage bump commit on main and its `stage-started` ledger event."""
    services = " ".join(b.split()[0] for b in bumps)
    lines = [f"promote {record.id} to {stage}", "", f"Train-Id: {record.id}", f"Stage: {stage}"]
    lines += [f"Services: {services}"] + [f"Bump: {b}" for b in bumps]
    sha = repo.base_commit("\n".join(lines) + "\n")
    at = repo.tick()
    state = "promoting" if record.state != "promoting" else None
    record = step(record, at, "stage-started", state)
    repo.write(record, ["stage-started"], [("Stage", stage), ("Commit", sha)])
    return record, sha


def verdict(
    repo: LedgerRepo, record: TrainRecord, stage: str, result: str, evidence: str = ""
) -> TrainRecord:
    at = repo.tick(30)
    record = step(record, at, "stage-verdict")
    extra = [("Stage", stage), ("Verdict", result)] + ([("Evidence", evidence)] if evidence else [])
    repo.write(record, ["stage-verdict"], extra)
    if result == "pass":
        at = repo.tick(1)
        record = step(record, at, "stage-completed")
        repo.write(record, ["stage-completed"], [("Stage", stage)])
    return record


def merged_train(
    repo: LedgerRepo, train_id: str, approver: str = "rm-dave"
) -> tuple[TrainRecord, dict[str, str]]:
    """board -> depart (one PR missed) -> merge; returns the record and the shas by step."""
    shas: dict[str, str] = {}
    at = repo.tick()
    boarded = (
        Boarded(1, at, "Add A", "dev-alice", ("feature",), "a" * 40),
        Boarded(2, at, "Fix B", "dev-bob", ("bug",), "b" * 40),
    )
    record = TrainRecord(
        id=train_id, train=train_id.rsplit("-", 3)[0], created_at=at, state_since=at
    )
    record = step(record, at, "create", boarded=boarded)
    shas["board"] = repo.write(record, ["board"])
    at = repo.tick(60)
    missed = (Missed(3, "conflict", "merge conflict with `main`"),)
    record = step(
        record,
        at,
        "departed",
        "departed",
        missed=missed,
        train_pr=10,
        release_branch=f"release/{train_id}",
    )
    shas["depart"] = repo.write(record, ["depart"])
    message = (
        f"Release train {train_id} (#10)\n\nMerge release train {train_id}\n\n"
        f"Train-Id: {train_id}\n"
        f"Approved-By: {approver}\nBoarded: #1 #2\nGates: ci=success, security=success\n"
    )
    shas["merge_commit"] = repo.base_commit(message)
    at = repo.tick()
    record = step(
        record, at, "merged", "merged", merge_sha=shas["merge_commit"], approved_by=(approver,)
    )
    shas["merge"] = repo.write(record, ["merge"])
    return record, shas


def story(path: Path) -> tuple[LedgerRepo, dict[str, str]]:
    """Two trains: web-2026-03-02 completes (staging, production); api-2026-03-02 breaches in
    production and is rolled back with evidence and an incident."""
    repo = LedgerRepo(path)
    web, shas = merged_train(repo, "web-2026-03-02")
    web, shas["web_staging"] = promote(repo, web, "staging", ["web 1.0.0 -> 1.1.0"])
    web = verdict(repo, web, "staging", "pass")
    web, shas["web_production"] = promote(repo, web, "production", ["web 1.0.0 -> 1.1.0"])
    web = verdict(repo, web, "production", "pass")
    at = repo.tick(1)
    web = step(web, at, "completed", "completed")
    shas["web_completed"] = repo.write(web, ["complete"])

    api, api_shas = merged_train(repo, "api-2026-03-02", approver="rm-erin")
    shas.update({f"api_{k}": v for k, v in api_shas.items()})
    api, shas["api_staging"] = promote(repo, api, "staging", ["api 2.0.0 -> 2.1.0"])
    api = verdict(repo, api, "staging", "pass")
    api, shas["api_production"] = promote(repo, api, "production", ["api 2.0.0 -> 2.1.0"])
    evidence = "error-rate 0.05 > 0.01 (5m)"
    api = verdict(repo, api, "production", "fail", evidence)
    revert = (
        f"revert api-2026-03-02 production\n\nTrain-Id: api-2026-03-02\nStage: production\n"
        f"Reverts: {shas['api_production']}\nEvidence: {evidence}\n"
    )
    shas["api_revert"] = repo.base_commit(revert)
    at = repo.tick(2)
    api = step(api, at, "rolled_back", "rolled_back")
    extra = [("Evidence", evidence), ("Incident", "#42"), ("Commit", shas["api_revert"])]
    shas["api_rolled_back"] = repo.write(api, ["rolled-back"], extra)
    return repo, shas
