"""The audit timeline and the metrics of a known story, read from a real git repository."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_repo import story

from bot.insights.gitlog import read_history
from bot.insights.metrics import compute
from bot.insights.timeline import build_timelines


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    repo, shas = story(tmp_path_factory.mktemp("story") / "repo")
    return repo.path, shas


def test_timeline_answers_the_auditors_questions(known: tuple[Path, dict[str, str]]) -> None:
    path, shas = known
    timelines = {t.train_id: t for t in build_timelines(read_history(path))}
    assert set(timelines) == {"web-2026-03-02", "api-2026-03-02"}
    web = timelines["web-2026-03-02"]
    kinds = [e.kind for e in web.events]
    assert kinds[:4] == ["board", "depart", "train-merge", "merge"]
    depart = web.events[1]
    assert "missed #3 (conflict" in depart.summary and depart.commit == shas["depart"]
    merge = next(e for e in web.events if e.kind == "train-merge")
    assert "approved by rm-dave" in merge.summary and "security=success" in merge.summary
    assert merge.commit == shas["merge_commit"]
    promote = [e for e in web.events if e.kind == "promote"]
    assert [e.detail("Stage") for e in promote] == ["staging", "production"]
    assert "web 1.0.0 -> 1.1.0" in promote[0].summary
    api = timelines["api-2026-03-02"]
    assert api.state == "rolled_back"
    rolled = api.events[-1]
    assert rolled.kind == "rolled-back" and "error-rate 0.05 > 0.01 (5m)" in rolled.summary
    assert "incident #42" in rolled.summary
    revert = next(e for e in api.events if e.kind == "revert")
    assert revert.commit == shas["api_revert"] and "reverts" in revert.summary


def test_unknown_events_still_appear_generically(known: tuple[Path, dict[str, str]]) -> None:
    path, _ = known
    web = next(t for t in build_timelines(read_history(path)) if t.train_id.startswith("web"))
    complete = [e for e in web.events if e.kind == "complete"]
    assert len(complete) == 1 and complete[0].summary == "complete"


def test_filters_by_train_and_since(known: tuple[Path, dict[str, str]]) -> None:
    from datetime import UTC, datetime

    history = read_history(known[0])
    assert [t.train_id for t in build_timelines(history, train="api-2026-03-02")] == [
        "api-2026-03-02"
    ]
    late = build_timelines(history, since=datetime(2026, 3, 2, 11, 30, tzinfo=UTC))
    assert [t.train_id for t in late] == ["api-2026-03-02"]


def test_metrics_of_the_known_story(known: tuple[Path, dict[str, str]]) -> None:
    metrics = compute(build_timelines(read_history(known[0])))

    def value(name: str, **labels: str) -> float | None:
        metric = metrics.get(name, **labels)
        assert metric is not None, name
        return metric.value

    assert value("release_success_rate") == 0.5
    assert value("change_failure_rate") == 0.5
    assert value("mean_time_to_roll_forward_seconds") == 75 * 60  # merged 10:12 -> done 11:27
    assert value("mean_time_to_roll_back_seconds") == 3 * 60  # breach 13:51 -> revert 13:54
    assert value("time_to_restore_seconds") == 3 * 60
    assert value("deployment_duration_seconds", stage="staging") == 31 * 60
    assert value("rollout_success_rate", stage="production") == 0.5
    assert value("error_budget_consumed_ratio") == pytest.approx(5.0)
    assert value("security_gate_pass_rate") == 1.0
    assert value("prs_per_train") == 2.0
    assert value("artifact_consistency_rate") == 1.0
    assert value("post_deploy_incident_rate") == 0.5
    canary = metrics.get("canary_failure_rate")
    assert canary is not None and canary.value is None and canary.note


def test_metrics_are_null_with_a_note_before_promotion(tmp_path: Path) -> None:
    from ledger_repo import LedgerRepo, merged_train

    repo = LedgerRepo(tmp_path / "repo")
    merged_train(repo, "web-2026-03-02")
    metrics = compute(build_timelines(read_history(repo.path)))
    for name in (
        "mean_time_to_roll_forward_seconds",
        "deployment_frequency_per_day",
        "lead_time_seconds",
        "deployment_duration_seconds",
    ):
        metric = metrics.get(name)
        assert metric is not None and metric.value is None and "promotion" in metric.note


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, check=False
    )


def test_cli_audit_formats(known: tuple[Path, dict[str, str]]) -> None:
    path, shas = known
    done = _cli("audit", "--repo", str(path), "--format", "json", "--train", "web-2026-03-02")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    (train,) = doc["trains"]
    assert train["approved_by"] == ["rm-dave"] and train["missed"][0]["reason"] == "conflict"
    assert any(e["commit"] == shas["merge_commit"] for e in train["events"])
    csv_out = _cli("audit", "--repo", str(path), "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "train_id,at,branch,kind,actor,summary,commit"
    md = _cli("audit", "--repo", str(path), "--format", "markdown").stdout
    assert md.startswith("| train_id |") and "rolled-back" in md
    table = _cli("audit", "--repo", str(path)).stdout
    assert "== api-2026-03-02 (rolled_back)" in table


def test_cli_metrics_json_has_nulls_and_notes(known: tuple[Path, dict[str, str]]) -> None:
    done = _cli("metrics", "--repo", str(known[0]), "--json")
    assert done.returncode == 0, done.stderr
    items = {(m["name"], tuple(m["labels"].items())): m for m in json.loads(done.stdout)["metrics"]}
    assert items[("release_success_rate", ())]["value"] == 0.5
    assert items[("latency_delta", ())]["value"] is None
    assert items[("latency_delta", ())]["note"]


def test_cli_usage_errors(tmp_path: Path) -> None:
    done = _cli("audit", "--repo", str(tmp_path))
    assert done.returncode == 2 and "not a git repository" in done.stderr
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    done = _cli("audit", "verify", "--repo", str(tmp_path / "r"))
    assert done.returncode == 2 and "no ledger branch" in done.stderr
    assert "Traceback" not in done.stderr
