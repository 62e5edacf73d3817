"""The Action entry point with real event files and a runner-like environment."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from transport_kit import example

from bot.errors import ConfigError, Problem
from bot.transports.action import ActionRequest, format_outputs, run_action

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeTrain:
    id: str
    state: str


@dataclass(frozen=True)
class FakeAction:
    text: str

    def describe(self) -> str:
        return self.text


@dataclass(frozen=True)
class FakeResult:
    trains: tuple[FakeTrain, ...] = ()
    actions_done: tuple[FakeAction, ...] = ()
    actions_planned: tuple[FakeAction, ...] = ()


@dataclass
class Recording:
    requests: list[ActionRequest] = field(default_factory=list)
    result: object = None
    error: Exception | None = None

    def __call__(self, req: ActionRequest) -> object:
        self.requests.append(req)
        if self.error is not None:
            raise self.error
        return self.result


def runner_env(tmp_path: Path, event: str, payload: dict[str, object]) -> dict[str, str]:
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(payload))
    (tmp_path / "output").write_text("")
    (tmp_path / "summary.md").write_text("")
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_API_URL": "https://api.github.com",
        "GITHUB_RUN_ID": "99",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "RELEASE_TRAIN_TOKEN": "ghs_" + "x" * 36,
    }


def parse_outputs(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT the way the runner does (heredoc blocks)."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        out[name] = "\n".join(value)
    return out


def test_outputs_and_summary_from_a_labeled_pull_request(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "pull_request", example("pull_request", "labeled"))
    rec = Recording(
        result=FakeResult(
            trains=(
                FakeTrain("web-2026-02-27", "completed"),
                FakeTrain("web-2026-03-02", "boarding"),
            ),
            actions_done=(
                FakeAction("comment on #12: boarded web-2026-03-02"),
                FakeAction("record boarding\nof #12 | #13"),
            ),
        )
    )
    code, _ = run_action(env, NOW, reconciler=rec, stdout=io.StringIO())
    assert code == 0
    [req] = rec.requests
    assert (req.repo, req.event, req.delivery, req.dry_run) == (
        "acme/shop",
        "pull_request",
        "actions-run-99",
        False,
    )
    assert req.token == env["RELEASE_TRAIN_TOKEN"] and req.now == NOW
    outputs = parse_outputs((tmp_path / "output").read_text())
    assert outputs["train-id"] == "web-2026-03-02"
    assert outputs["state"] == "boarding"
    assert json.loads(outputs["actions-taken"]) == [
        "comment on #12: boarded web-2026-03-02",
        "record boarding\nof #12 | #13",
    ]
    summary = (tmp_path / "summary.md").read_text()
    assert "## Release Train — `acme/shop`" in summary
    assert "| `web-2026-03-02` | boarding |" in summary
    assert "1. comment on #12" in summary and "of #12 \\| #13" in summary


def test_dry_run_reports_planned_actions(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "workflow_dispatch", example("workflow_dispatch"))
    env["RELEASE_TRAIN_DRY_RUN"] = "true"
    rec = Recording(result=FakeResult(actions_planned=(FakeAction("depart web-2026-03-02"),)))
    code, view = run_action(env, NOW, reconciler=rec, stdout=io.StringIO())
    assert code == 0 and rec.requests[0].dry_run
    assert view is not None and view.actions == ("depart web-2026-03-02",)
    assert "(dry run)" in (tmp_path / "summary.md").read_text()
    assert "**Planned:**" in (tmp_path / "summary.md").read_text()


def test_schedule_has_no_event_file_and_still_reconciles(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "schedule", {})
    del env["GITHUB_EVENT_PATH"]
    rec = Recording(result=FakeResult())
    assert run_action(env, NOW, reconciler=rec, stdout=io.StringIO())[0] == 0
    assert len(rec.requests) == 1
    outputs = parse_outputs((tmp_path / "output").read_text())
    assert outputs == {"train-id": "", "state": "", "actions-taken": "[]", "exit-code": "0"}
    assert "No actions" in (tmp_path / "summary.md").read_text()


def test_an_irrelevant_event_does_nothing(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "issue_comment", example("issue_comment", "edited"))
    rec = Recording()
    out = io.StringIO()
    assert run_action(env, NOW, reconciler=rec, stdout=out)[0] == 0
    assert rec.requests == []
    assert "nothing to do" in out.getvalue()
    assert "Nothing to do" in (tmp_path / "summary.md").read_text()


def test_config_errors_become_error_annotations(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "schedule", {})
    rec = Recording(
        error=ConfigError(
            [
                Problem("unknown key 'cadnce'", file=".github/release-train.yml", line=4, col=3),
                Problem("stage 'prod' is not defined", file=".github/release-train.yml", line=12),
            ]
        )
    )
    out = io.StringIO()
    code, _ = run_action(env, NOW, reconciler=rec, stdout=out)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert lines[0] == "::error file=.github/release-train.yml,line=4,col=3::unknown key 'cadnce'"
    assert lines[1].startswith("::error file=.github/release-train.yml,line=12,")
    assert "configuration is invalid" in (tmp_path / "summary.md").read_text()


def test_format_outputs_is_multiline_safe() -> None:
    text = format_outputs({"a": "one\ntwo", "b": ""}, "EOF_1")
    assert parse_outputs(text) == {"a": "one\ntwo", "b": ""}
    with pytest.raises(ValueError):
        format_outputs({"a": "EOF_1"}, "EOF_1")


def test_cli_entry_point_without_environment_is_a_usage_error() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RELEASE_TRAIN"))}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "GITHUB_EVENT_NAME" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_entry_point_writes_outputs_for_an_ignored_event(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **runner_env(tmp_path, "pull_request", example("pull_request", "assigned")),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    outputs = (tmp_path / "output").read_text()
    assert re.search(r"^train-id<<ghadelimiter_[0-9a-f-]+$", outputs, re.M)
    assert "pull_request.assigned does not affect trains" in (tmp_path / "summary.md").read_text()


@pytest.mark.slow
def test_action_against_the_sandbox_boards_and_writes_outputs(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    repo = "acme/action-e2e"
    kit = sandbox.scenario
    soon = datetime.now(UTC) + timedelta(minutes=30)
    config = (
        "version: 1\n"
        "trains:\n"
        "  - name: web\n"
        '    label: "train:next"\n'
        f'    cadence: "{soon.minute} * * * *"\n'
        "services:\n"
        "  - name: web\n"
        "    image: ghcr.io/acme/web\n"
        "stages:\n"
        "  - name: staging\n"
        "    soak: 10m\n"
    )
    kit.create_repo(repo, {".github/release-train.yml": config, "app.txt": "one\n"})
    kit.install_bot(repo)
    number = kit.open_pr(repo, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.label(repo, number, "train:next", actor="dev-alice")
    payload = example("pull_request", "labeled")
    env = {
        **os.environ,
        **runner_env(tmp_path, "pull_request", payload),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": sandbox.base_url,
        "RELEASE_TRAIN_TOKEN": sandbox.bot_token(),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outputs = parse_outputs((tmp_path / "output").read_text())
    assert outputs["train-id"].startswith("web-") and outputs["state"] == "boarding"
    actions = json.loads(outputs["actions-taken"])
    assert any(f"#{number}" in a for a in actions)
    summary = (tmp_path / "summary.md").read_text()
    assert f"| `{outputs['train-id']}` | boarding |" in summary
    assert "release-train:" in proc.stdout

    # a second run finds nothing to do: the reconcile is idempotent
    (tmp_path / "output").write_text("")
    again = subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True, timeout=60
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(parse_outputs((tmp_path / "output").read_text())["actions-taken"]) == []


@pytest.mark.slow
def test_action_reports_an_invalid_config_as_error_annotations(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    repo = "acme/bad-config"
    config = "version: 1\ntrains:\n  - name: web\n    cadense: daily\n"
    sandbox.scenario.create_repo(repo, {".github/release-train.yml": config})
    sandbox.scenario.install_bot(repo)
    env = {
        **os.environ,
        **runner_env(tmp_path, "schedule", {}),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": sandbox.base_url,
        "RELEASE_TRAIN_TOKEN": sandbox.bot_token(),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "action"], env=env, capture_output=True, text=True, timeout=60
    )
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert errors, proc.stdout + proc.stderr
    assert re.match(r"::error file=\.github/release-train\.yml,line=\d+,col=\d+::", errors[0])
    assert proc.returncode == 1
    assert "Problems" in (tmp_path / "summary.md").read_text()


def test_bot_login_in_action_mode(tmp_path: Path) -> None:
    env = runner_env(tmp_path, "schedule", {})
    rec = Recording(result=FakeResult())
    run_action(
        {**env, "RELEASE_TRAIN_DEFAULT_TOKEN": env["RELEASE_TRAIN_TOKEN"]},
        NOW,
        reconciler=rec,
        stdout=io.StringIO(),
    )
    run_action(
        {**env, "RELEASE_TRAIN_DEFAULT_TOKEN": "another"}, NOW, reconciler=rec, stdout=io.StringIO()
    )
    run_action(
        {**env, "RELEASE_TRAIN_BOT_LOGIN": "trains[bot]"}, NOW, reconciler=rec, stdout=io.StringIO()
    )
    assert [r.bot_login for r in rec.requests] == ["github-actions[bot]", "", "trains[bot]"]


@pytest.mark.slow
def test_action_runs_drive_a_train_to_merged(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    """Scheduled Action runs board, depart and merge a train in the sandbox."""
    from datetime import timedelta

    repo = "acme/action-train"
    kit = sandbox.scenario
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    minute = (t0 + timedelta(minutes=1)).minute
    config = (
        'version: 1\ntrains:\n  - name: web\n    label: "train:next"\n'
        f'    cadence: "{minute} * * * *"\n'
        "services:\n  - name: web\n    image: ghcr.io/acme/web\n"
        "stages:\n  - name: staging\n    soak: 10m\n"
        "gates:\n  ci:\n    required: [ci]\n"
    )
    kit.create_repo(repo, {".github/release-train.yml": config, "app.txt": "one\n"})
    kit.install_bot(repo)
    number = kit.open_pr(repo, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(repo, number, "rev-carol", "APPROVE")
    head = kit.call("GET", f"/repos/{repo}/pulls/{number}", as_user="rm-dave")["head"]["sha"]
    kit.set_check(repo, head, "ci", "completed", "success")
    kit.label(repo, number, "train:next", actor="dev-alice")
    env = {
        **os.environ,
        **runner_env(tmp_path, "schedule", {}),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": sandbox.base_url,
        "RELEASE_TRAIN_TOKEN": sandbox.bot_token(),
    }

    def run(at: datetime) -> dict[str, str]:  # in-process: the CLI path is tested above
        (tmp_path / "output").write_text("")
        code, _ = run_action(env, at, stdout=io.StringIO())
        assert code == 0
        return parse_outputs((tmp_path / "output").read_text())

    assert run(t0)["state"] == "boarding"
    departed = run(t0 + timedelta(minutes=2))
    assert departed["state"] == "departed"
    pulls = kit.call("GET", f"/repos/{repo}/pulls?state=open", as_user="rm-dave")
    train_pr = next(p for p in pulls if p["head"]["ref"].startswith("release/"))
    kit.set_check(repo, train_pr["head"]["sha"], "ci", "completed", "success")
    approve_at(sandbox, repo, train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    merged = run(t0 + timedelta(minutes=3))
    assert (merged["train-id"], merged["state"]) == (departed["train-id"], "merged")
    assert any("merge train PR" in a for a in json.loads(merged["actions-taken"]))


def approve_at(sandbox, repo: str, number: int, user: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """Approve with the sandbox's clock at the story's simulated time `at`: the policy gate
    counts an approval only when it came after the release branch last changed."""
    real = sandbox.server.clock
    sandbox.server.clock = lambda: at
    try:
        sandbox.scenario.review(repo, number, user, "APPROVE")
    finally:
        sandbox.server.clock = real
