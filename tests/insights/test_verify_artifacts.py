"""`audit verify` checks every bump commit against the train's recorded artifact set, over a
real git repository: an honest bump passes; a bump writing another digest or tag, or a
service the set does not ship, is reported with its commit and the CLI exits 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ledger_repo import LedgerRepo, merged_train, promote

from bot.core import artifacts as arts
from bot.core.ledger import TrainRecord
from bot.insights.gitlog import read_history
from bot.insights.verify import verify
from bot.insights.verify_artifacts import disagreement, split_written

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


def _with_set(record: TrainRecord) -> TrainRecord:
    web = arts.Artifact("web", "ghcr.io/acme/web", "1.2.3", arts.State.FOUND, DIGEST, "a" * 40)
    late = arts.Artifact("api", "ghcr.io/acme/api", "1.2.3", arts.State.LEFT_OUT, reason="late")
    return arts.with_set(record, arts.ArtifactSet("a" * 40, (web, late)))


def _repo(tmp_path: Path) -> tuple[LedgerRepo, TrainRecord]:
    repo = LedgerRepo(tmp_path / "repo")
    record, _ = merged_train(repo, "web-2026-03-02")
    return repo, _with_set(record)


def test_a_bump_that_writes_the_recorded_artifact_passes(tmp_path: Path) -> None:
    repo, record = _repo(tmp_path)
    record, _ = promote(repo, record, "staging", [f"web 1.0.0 -> 1.2.3@{DIGEST}"])
    promote(repo, record, "canary", [f"web 1.0.0 -> ghcr.io/acme/web:1.2.3@{DIGEST}"])
    assert list(verify(read_history(repo.path))) == []


def test_a_hand_edited_bump_is_reported_with_its_commit(tmp_path: Path) -> None:
    repo, record = _repo(tmp_path)
    record, good = promote(repo, record, "staging", [f"web 1.0.0 -> 1.2.3@{DIGEST}"])
    record, bad = promote(repo, record, "canary", [f"web 1.0.0 -> 1.2.3@{OTHER}"])
    _, extra = promote(repo, record, "production", ["api 2.0.0 -> 1.2.3"])
    findings = list(verify(read_history(repo.path)))
    assert [(f.kind, f.commit, f.branch) for f in findings] == [
        ("artifact-mismatch", bad, "base"),
        ("artifact-not-recorded", extra, "base"),
    ]
    assert f"digest {OTHER}, not {DIGEST}" in findings[0].message
    assert "do not ship api" in findings[1].message

    done = subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify", "--repo", str(repo.path), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    rows = json.loads(done.stdout)["findings"]
    assert {r["commit"] for r in rows if r["kind"].startswith("artifact")} == {bad, extra}
    assert good not in done.stdout


def test_what_a_bump_wrote_is_read_in_every_form() -> None:
    assert split_written("1.2.3") == ("", "1.2.3", "")
    assert split_written(f"1.2.3@{DIGEST}") == ("", "1.2.3", DIGEST)
    assert split_written(DIGEST) == ("", "", DIGEST)
    assert split_written(f"ghcr.io:5000/acme/web:1.2.3@{DIGEST}") == (
        "ghcr.io:5000/acme/web", "1.2.3", DIGEST,
    )  # fmt: skip
    web = arts.Artifact("web", "ghcr.io/acme/web", "1.2.3", arts.State.FOUND, DIGEST)
    assert disagreement("1.2.3", web) == f"no digest, but web is pinned to {DIGEST}"
    assert disagreement("1.2.4", arts.Artifact("web", "r", "1.2.3", arts.State.FOUND,
                                               pin="tag")) == "tag 1.2.4, not 1.2.3"  # fmt: skip
    assert "image ghcr.io/evil/web" in disagreement(f"ghcr.io/evil/web:1.2.3@{DIGEST}", web)
