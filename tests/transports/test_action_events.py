"""Action mode end to end: `python -m bot action` in a subprocess with a real event file
(`tests/data/webhooks`, filled in with the sandbox's ids), GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, and the sandbox as the GitHub API; plus the pure parts
(config path checks, routing aliases, gate requests) with plain values."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import BOT, REPO, Story, config_text, new_story, start_time
from transport_kit import example

from bot.core.gates.events import GateRequest
from bot.errors import ConfigError, UsageError
from bot.transports.action import gate_request_of, read_env, run_action, skip_reason
from bot.transports.settings import checked_config_path, settings_from_env

# -- pure parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", ".github/release-train.yml"),
        ("  ", ".github/release-train.yml"),
        ("deploy/trains.yml", "deploy/trains.yml"),
        ("./deploy//trains.yml", "deploy/trains.yml"),
        ("a/./b.yaml", "a/b.yaml"),
        ("..trains.yml", "..trains.yml"),  # a file name that starts with dots stays inside
    ],
)
def test_config_paths_inside_the_repository_are_normalised(given: str, expected: str) -> None:
    assert checked_config_path(given) == expected


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("../other/release-train.yml", "leaves the repository"),
        ("deploy/../../x.yml", "leaves the repository"),
        ("/etc/release-train.yml", "is absolute"),
        ("C:/trains.yml", "is absolute"),
        ("~/trains.yml", "is absolute"),
        ("deploy\\trains.yml", "backslashes"),
        ("deploy/", "names a folder"),
        ("deploy/.", "names a folder"),
        ("a\nb.yml", "control characters"),
    ],
)
def test_config_paths_outside_the_repository_are_refused(given: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        checked_config_path(given)


def test_serve_settings_carry_a_checked_config_path(private_key_pem: str) -> None:
    env = {"APP_ID": "7", "PRIVATE_KEY": private_key_pem, "WEBHOOK_SECRET": "s"}
    assert settings_from_env(env).config_path == ".github/release-train.yml"
    assert settings_from_env({**env, "RELEASE_TRAIN_CONFIG": "ops/t.yml"}).config_path == (
        "ops/t.yml"
    )
    with pytest.raises(ConfigError) as caught:
        settings_from_env({**env, "RELEASE_TRAIN_CONFIG": "../t.yml"})
    [problem] = caught.value.problems
    assert problem.message.startswith("RELEASE_TRAIN_CONFIG: config path '../t.yml' leaves")


def _env(event: str, payload: dict[str, Any], tmp_path: Path, **extra: str) -> dict[str, str]:
    path = tmp_path / f"{event}.json"
    path.write_text(json.dumps(payload))
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "acme/shop",
        "RELEASE_TRAIN_TOKEN": "t",
        **extra,
    }


def test_pull_request_target_is_routed_like_pull_request(tmp_path: Path) -> None:
    labeled = read_env(_env("pull_request_target", example("pull_request", "labeled"), tmp_path))
    assigned = read_env(_env("pull_request_target", example("pull_request", "assigned"), tmp_path))
    assert skip_reason(labeled) == ""
    assert skip_reason(assigned) == "pull_request.assigned does not affect trains"


def test_the_bots_own_comment_starts_no_reconcile(tmp_path: Path) -> None:
    payload = copy.deepcopy(example("issue_comment", "created"))
    payload["sender"]["login"] = "trains[bot]"
    env = _env("issue_comment", payload, tmp_path, RELEASE_TRAIN_BOT_LOGIN="trains[bot]")
    assert skip_reason(read_env(env)) == "the bot's own event"
    assert skip_reason(read_env({**env, "RELEASE_TRAIN_BOT_LOGIN": "someone[bot]"})) == ""


def test_check_run_events_become_the_apps_gate_requests() -> None:
    pressed = copy.deepcopy(example("check_run", "requested_action"))
    assert gate_request_of("check_run", pressed) is None  # not one of our gates
    pressed["check_run"]["name"] = "release-train/policy"
    pressed["requested_action"] = {"identifier": "hold"}
    asked = gate_request_of("check_run", pressed)
    assert isinstance(asked, GateRequest)
    assert (asked.action, asked.gates, asked.source) == ("hold", (), "check_run.requested_action")
    assert asked.head_sha == pressed["check_run"]["head_sha"]
    rerun = copy.deepcopy(example("check_run", "rerequested"))
    rerun["check_run"]["name"] = "release-train/ci"
    assert gate_request_of("check_run", rerun).gates == ("ci",)
    suite = example("check_suite", "rerequested")
    assert gate_request_of("check_suite", suite).source == "check_suite.rerequested"
    assert gate_request_of("pull_request", example("pull_request", "labeled")) is None


def test_now_is_for_plans_only_and_command_must_be_known(tmp_path: Path) -> None:
    def attempt(**extra: str) -> tuple[int, str, dict[str, str]]:
        out = io.StringIO()
        env = _env("workflow_dispatch", example("workflow_dispatch"), tmp_path, **extra)
        env["GITHUB_OUTPUT"] = str(tmp_path / f"out-{len(extra)}-{sorted(extra)}")

        def never(req: Any) -> object:
            raise AssertionError("a wrong input must stop before the reconcile")

        code, _ = run_action(env, datetime.now(UTC), reconciler=never, stdout=out)
        return code, out.getvalue(), parse_outputs(Path(env["GITHUB_OUTPUT"]).read_text())

    code, text, outputs = attempt(RELEASE_TRAIN_NOW="2026-03-06T14:00:00Z")
    assert code == 2 and outputs["exit-code"] == "2"
    assert "::error::now: only a plan" in text
    code, text, _ = attempt(RELEASE_TRAIN_COMMAND="deploy")
    assert code == 2 and "neither `reconcile` nor `plan`" in text
    code, text, _ = attempt(RELEASE_TRAIN_COMMAND="plan", RELEASE_TRAIN_NOW="friday")
    assert code == 2 and "now: 'friday' is not an ISO 8601" in text


# -- against the sandbox -------------------------------------------------------------------


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT read the way the runner does (`name<<DELIM` blocks)."""
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


class Runner:
    """One workflow step's files and environment; `run` starts `python -m bot action`."""

    def __init__(self, sandbox: Any, tmp_path: Path, repo: str = REPO) -> None:
        self.sandbox = sandbox
        self.dir = tmp_path
        self.base = {
            **os.environ,
            "GITHUB_REPOSITORY": repo,
            "GITHUB_API_URL": sandbox.base_url,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "RELEASE_TRAIN_TOKEN": sandbox.bot_token(),
            "RELEASE_TRAIN_BOT_LOGIN": BOT,
        }

    def run(
        self, event: str, payload: dict[str, Any] | None, now: datetime, **extra: str
    ) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
        (self.dir / "output").write_text("")
        (self.dir / "summary.md").write_text("")
        env = {**self.base, "GITHUB_EVENT_NAME": event, **extra}
        env.pop("GITHUB_EVENT_PATH", None)
        if payload is not None:
            (self.dir / "event.json").write_text(json.dumps(payload))
            env["GITHUB_EVENT_PATH"] = str(self.dir / "event.json")
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "action", "--now", now.isoformat()],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs = parse_outputs((self.dir / "output").read_text())
        return proc, outputs, (self.dir / "summary.md").read_text()


def _for_repo(payload: dict[str, Any], repo: str, sender: str) -> dict[str, Any]:
    """A real example payload pointed at `repo`, sent by `sender`."""
    out = copy.deepcopy(payload)
    out["repository"]["full_name"] = repo
    out["repository"]["name"] = repo.split("/")[1]
    out["sender"]["login"] = sender
    return out


def _board(story: Story, t0: datetime) -> int:
    kit = story.kit
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    return number


def _gate_runs(story: Story, sha: str) -> dict[str, dict[str, Any]]:
    listed = story.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    ours = sorted(listed["check_runs"], key=lambda r: r["id"])
    return {r["name"].removeprefix("release-train/"): r for r in ours if "/" in r["name"]}


def _pressed(run: dict[str, Any], who: str, identifier: str = "") -> dict[str, Any]:
    """GitHub's check_run delivery for Re-run (or a button) on `run`: the committed example
    with the sandbox's check run in it."""
    action = "requested_action" if identifier else "rerequested"
    payload = _for_repo(example("check_run", action), REPO, who)
    payload["check_run"] = {**payload["check_run"], **run}
    if identifier:
        payload["requested_action"] = {"identifier": identifier}
    return payload


@pytest.mark.slow
def test_config_input_reads_that_file_from_the_default_branch(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    repo = "acme/elsewhere"
    kit = sandbox.scenario
    kit.create_repo(repo, {"deploy/trains.yml": config_text(t0), "app.txt": "one\n"})
    kit.install_bot(repo)
    # the PR's head carries a broken copy of the config: it must not be what the bot reads
    number = kit.open_pr(repo, "dev-alice", "feat-a", {"deploy/trains.yml": "trains: [oops\n"})
    kit.label(repo, number, "train:next", actor="dev-alice")
    runner = Runner(sandbox, tmp_path, repo)
    labeled = _for_repo(example("pull_request", "labeled"), repo, "dev-alice")

    proc, outputs, summary = runner.run(
        "pull_request", labeled, t0, RELEASE_TRAIN_CONFIG="./deploy/trains.yml"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["train-id"].startswith("web-") and outputs["state"] == "boarding"
    assert outputs["exit-code"] == "0"
    assert any(f"#{number}" in a for a in json.loads(outputs["actions-taken"]))
    assert "Configuration: `deploy/trains.yml` on the default branch." in summary

    # with the default path there is no configuration at all
    proc, outputs, summary = runner.run("schedule", None, t0)
    assert proc.returncode == 1 and outputs["exit-code"] == "1"
    assert "no .github/release-train.yml on the default branch" in summary


@pytest.mark.slow
def test_a_config_path_outside_the_repository_is_refused_before_any_request(
    tmp_path: Path,
    sandbox,  # type: ignore[no-untyped-def]
) -> None:
    runner = Runner(sandbox, tmp_path, "acme/none")
    mark = len(sandbox.server.request_log)
    proc, outputs, summary = runner.run(
        "schedule", None, start_time(), RELEASE_TRAIN_CONFIG="../secrets/release-train.yml"
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0] == (
        "::error::config path '../secrets/release-train.yml' leaves the repository (`..`);"
        " give a path inside it"
    )
    assert outputs == {"train-id": "", "state": "", "actions-taken": "[]", "exit-code": "2"}
    assert "**Failed:** config path" in summary and "Traceback" not in proc.stderr
    assert sandbox.server.request_log[mark:] == []


@pytest.mark.slow
def test_check_run_buttons_and_rerun_reach_reconcile(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    _board(story, t0)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    head, train_id = train_pr["head"]["sha"], train_pr["head"]["ref"].removeprefix("release/")
    story.reconcile(t0 + timedelta(minutes=3))
    runner = Runner(sandbox, tmp_path)
    at = t0 + timedelta(minutes=3)

    # Re-run on the policy gate: that gate is published afresh, the others stay
    before = _gate_runs(story, head)
    proc, outputs, summary = runner.run("check_run", _pressed(before["policy"], "dev-bob"), at)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    after = _gate_runs(story, head)
    assert after["policy"]["id"] > before["policy"]["id"]
    assert {g: r["id"] for g, r in after.items() if g != "policy"} == {
        g: r["id"] for g, r in before.items() if g != "policy"
    }
    assert "@dev-bob asked to re-evaluate `policy` (check_run.rerequested)" in summary
    assert (outputs["train-id"], outputs["state"]) == (train_id, "departed")

    # the Hold train button, pressed by a release manager, holds the train
    stored = sandbox.store.get("check_runs", after["ci"]["id"])
    (hold,) = [a["identifier"] for a in stored["actions"] if a["identifier"].startswith("hold.")]
    proc, outputs, summary = runner.run("check_run", _pressed(after["ci"], "rm-dave", hold), at)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = story.ledger(train_id)
    assert record["held"] is True
    assert [e["actor"] for e in record["history"] if e["event"] == "hold"] == ["rm-dave"]
    assert "@rm-dave asked to hold the train (check_run.requested_action)" in summary
    assert outputs["exit-code"] == "0"


@pytest.mark.slow
def test_chatops_comment_event_resumes_a_held_train(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    _board(story, t0)
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    train_id = train_pr["head"]["ref"].removeprefix("release/")
    runner = Runner(sandbox, tmp_path)
    payload = _for_repo(example("issue_comment", "created"), REPO, "rm-dave")
    payload["issue"]["number"] = train_pr["number"]
    payload["issue"]["pull_request"] = {"url": train_pr["url"]}
    for command, held in (("/train hold", True), ("/train resume", False)):
        story.kit.comment(REPO, train_pr["number"], "rm-dave", command)
        payload["comment"]["body"] = command
        proc, outputs, _ = runner.run("issue_comment", payload, t0 + timedelta(minutes=3))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert story.ledger(train_id)["held"] is held
        assert outputs["train-id"] == train_id


@pytest.mark.slow
def test_workflow_dispatch_plans_for_a_given_time_and_writes_nothing(
    tmp_path: Path,
    sandbox,  # type: ignore[no-untyped-def]
) -> None:
    t0 = start_time()
    story = new_story(sandbox, t0)
    number = _board(story, t0)
    story.reconcile(t0)  # boarded; departure is due two minutes later
    runner = Runner(sandbox, tmp_path)
    payload = _for_repo(example("workflow_dispatch"), REPO, "rm-dave")
    later = t0 + timedelta(minutes=3)
    payload["inputs"] = {"command": "plan", "now": later.isoformat()}

    mark = len(sandbox.server.request_log)
    proc, outputs, summary = runner.run(
        "workflow_dispatch",
        payload,
        t0,
        RELEASE_TRAIN_COMMAND="plan",
        RELEASE_TRAIN_NOW=later.isoformat(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [r for r in sandbox.server.request_log[mark:] if r[0] != "GET"] == []
    planned = json.loads(outputs["actions-taken"])
    assert any(a.startswith("create branch release/web-") for a in planned), planned
    assert outputs["state"] == "boarding"  # planned, not done
    assert "(dry run)" in summary and f"Planned as of {later.isoformat()}" in summary
    assert "**Planned:**" in summary

    # the same time with command reconcile is refused: a writing run acts at the real time
    proc, outputs, _ = runner.run(
        "workflow_dispatch", payload, t0, RELEASE_TRAIN_NOW=later.isoformat()
    )
    assert proc.returncode == 2 and outputs["exit-code"] == "2"
    pulls = story.kit.call("GET", f"/repos/{REPO}/pulls?state=open", as_user="rm-dave")
    assert [p["number"] for p in pulls] == [number]  # no train PR: nothing departed


@pytest.mark.slow
def test_plan_and_reconcile_take_a_config_path(tmp_path: Path, sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    repo = "acme/ops-config"
    kit = sandbox.scenario
    kit.create_repo(repo, {"ops/trains.yml": config_text(t0), "app.txt": "one\n"})
    kit.install_bot(repo)
    number = kit.open_pr(repo, "dev-alice", "feat-a", {"a.txt": "a\n"})
    kit.label(repo, number, "train:next", actor="dev-alice")
    env = {**os.environ, "GITHUB_TOKEN": sandbox.bot_token()}
    env.pop("RELEASE_TRAIN_CONFIG", None)

    def cli(command: str, *extra: str) -> subprocess.CompletedProcess[str]:
        args = ["--repo", repo, "--api-url", sandbox.base_url, "--now", t0.isoformat(), *extra]
        return subprocess.run(
            [sys.executable, "-m", "bot", command, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    planned = cli("plan", "--config-path", "ops/trains.yml", "--json")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert any(f"#{number}" in a for a in json.loads(planned.stdout)["actions_planned"])
    refused = cli("reconcile", "--config-path", "/ops/trains.yml")
    assert refused.returncode == 2
    assert "config path '/ops/trains.yml' is absolute" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = cli("reconcile", "--config-path", "ops/trains.yml", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [t["state"] for t in json.loads(done.stdout)["trains"]] == ["boarding"]
    missing = cli("plan", "--json")  # the default path holds nothing in this repository
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["problems"] == [
        "no .github/release-train.yml on the default branch"
    ]


@pytest.mark.slow
def test_errors_in_a_config_at_another_path_are_annotated_at_that_path(
    tmp_path: Path,
    sandbox,  # type: ignore[no-untyped-def]
) -> None:
    repo = "acme/bad-elsewhere"
    bad = "version: 1\ntrains:\n  - name: web\n    cadense: daily\n"
    sandbox.scenario.create_repo(repo, {"ops/trains.yaml": bad})
    sandbox.scenario.install_bot(repo)
    runner = Runner(sandbox, tmp_path, repo)
    proc, outputs, summary = runner.run(
        "schedule", None, start_time(), RELEASE_TRAIN_CONFIG="ops/trains.yaml"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert errors and all(
        line.startswith("::error file=ops/trains.yaml,line=") for line in errors
    ), errors
    assert outputs["exit-code"] == "1" and "ops/trains.yaml:4:" in summary
