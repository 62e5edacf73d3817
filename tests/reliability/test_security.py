"""Security: no signature, no entry; the bot ignores its own events; a train's own authors
cannot approve it; unprivileged ChatOps is refused; config paths cannot leave the
repository; a PR's head cannot change the config the bot reads; and no token, private key
or webhook secret appears in logs, comments, issue/PR bodies or the ledger."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from lifecycle_sandbox import REPO
from scenario import MERGED, PHASES, Run, all_comments, board, depart, ledger_records, play
from scenarios import BOT, RIG_SECRET, offline_settings, quiet, webhook_rig

from bot.errors import ConfigError
from bot.sandbox import appauth
from bot.sandbox.runner import Sandbox
from bot.transports.app import create_app, runtime
from bot.transports.signature import sign

pytestmark = pytest.mark.reliability

SECRET = "security-webhook-secret"


@pytest.fixture
def app() -> Iterator[Any]:
    flask_app = create_app(offline_settings(SECRET), reconciler=lambda req: None, start=False)
    yield flask_app
    runtime(flask_app).close()


def _comment_event(sender: str) -> bytes:
    return json.dumps(
        {
            "action": "created",
            "repository": {"full_name": REPO, "name": "lifeline", "owner": {"login": "acme"}},
            "installation": {"id": 1},
            "sender": {"login": sender, "type": "Bot" if sender == BOT else "User"},
            "issue": {"number": 1, "pull_request": {}},
            "comment": {"id": 5, "body": "/train hold", "user": {"login": sender}},
        }
    ).encode()


def _deliver(app: Any, body: bytes, signature: str | None) -> Any:
    headers = {"X-GitHub-Event": "issue_comment", "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return app.test_client().post("/webhook", data=body, headers=headers)


def test_no_signature_no_entry(app: Any) -> None:
    body = _comment_event("dev-alice")
    worker = runtime(app).worker
    assert _deliver(app, body, None).status_code == 401
    assert _deliver(app, body, sign("not-the-secret", body)).status_code == 401
    assert _deliver(app, body, sign(SECRET, body + b" ")).status_code == 401
    assert worker.pending() == {} or not worker.pending()
    assert _deliver(app, body, sign(SECRET, body)).status_code == 202
    assert worker.pending()  # the same delivery, signed, is queued


def test_the_bot_ignores_its_own_events(app: Any) -> None:
    body = _comment_event(BOT)
    response = _deliver(app, body, sign(SECRET, body))
    assert response.status_code == 202
    assert "own event" in json.dumps(response.get_json())
    assert not runtime(app).worker.pending()


def test_a_trains_own_authors_cannot_approve_it(sandbox: Sandbox) -> None:
    run = play(sandbox, phases=[("board", board), ("depart", depart)])
    pr = run.story.open_train_pr()
    run.story.green(pr["head"]["sha"])
    at = run.t0 + timedelta(minutes=3)
    run.story.approve(pr["number"], "dev-alice", at)  # author of #1, on the train
    run.story.approve(pr["number"], "dev-bob", at)  # author of #2, on the train
    run.settle(at + timedelta(minutes=1))
    assert run.story.pull(pr["number"])["state"] == "open"
    run.story.approve(pr["number"], "rev-carol", at)  # not an author
    run.settle(at + timedelta(minutes=2))
    assert run.story.pull(pr["number"])["merged"] is True
    (merged,) = [r for r in ledger_records(run).values() if r["state"] in MERGED]
    assert merged["approved_by"] == ["rev-carol"]


def test_unprivileged_chatops_is_refused(sandbox: Sandbox) -> None:
    run = play(sandbox, phases=[("board", board), ("depart", depart)])
    pr = run.story.open_train_pr()["number"]
    for user in ("reader-erin", "dev-bob"):
        run.kit.comment(REPO, pr, user, "/train abort")
    run.settle(run.t0 + timedelta(minutes=3))
    states = {r["state"] for r in ledger_records(run).values()}
    assert "aborted" not in states
    replies = [c["body"] for c in all_comments(run)[pr] if c["user"]["login"] == BOT]
    for user in ("reader-erin", "dev-bob"):
        assert any(f"@{user}" in b and "needs maintain or admin" in b for b in replies), replies
    assert run.story.pull(pr)["state"] == "open"


@pytest.mark.parametrize(
    "target",
    [
        "../outside.yml",
        "policies/../../outside.yml",
        "/etc/passwd",
        "C:/x.yml",
        "https://evil.example/p.yml",
        "..\\outside.yml",
    ],
)
def test_config_paths_cannot_leave_the_repository(target: str) -> None:
    from bot.config.load import load_config_text

    asked: list[str] = []

    def read_file(path: str) -> str | None:
        asked.append(path)
        return "version: 1\n"

    text = f"version: 1\nextends: {json.dumps(target)}\ntrains: []\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, ".github/release-train.yml", read_file=read_file)
    assert "extends" in " ".join(p.render() for p in caught.value.problems)
    assert all(".." not in p.split("/") and not p.startswith("/") for p in asked), asked


def test_a_pull_requests_config_change_is_not_read(sandbox: Sandbox) -> None:
    """The sandbox has no forks; a PR's head stands in for the fork's: it rewrites the
    config (every minute, no CI gate) and rides the train; the bot keeps reading main's."""
    from bot.shell.reconcile import CONFIG_PATH, load_repo_config

    def hostile_pr(run: Run) -> None:
        number = run.kit.open_pr(
            REPO, "dev-bob", "evil", {CONFIG_PATH: "version: 1\ntrains: [}\n"}, title="Evil"
        )
        run.prs["evil"] = number

    run = play(sandbox, phases=[("evil", hostile_pr), *PHASES])
    with run.story.client() as client:
        config = load_repo_config(client)
    minute = (run.t0 + timedelta(minutes=2)).minute
    assert config is not None and str(config.trains[0].cadence) == f"{minute} * * * *"
    titles = [i for i in run.kit.call("GET", f"/repos/{REPO}/issues?state=all", as_user="rm-dave")]
    assert not any("invalid configuration" in i["title"] for i in titles)
    assert any(r["state"] in MERGED for r in ledger_records(run).values())


def _secrets(sb: Sandbox) -> set[str]:
    tokens = set()
    for key, record in sb.store.data["tokens"].items():
        tokens.add(str(key))
        if isinstance(record, dict) and record.get("token"):
            tokens.add(str(record["token"]))
    pem = appauth.private_key_pem(sb.store)
    key_lines = {line for line in pem.splitlines() if len(line) >= 32 and "-----" not in line}
    return {t for t in tokens if len(t) >= 16} | key_lines | {RIG_SECRET}


def _everything_said(run: Run, sb: Sandbox) -> dict[str, str]:
    issues = run.kit.call("GET", f"/repos/{REPO}/issues?state=all&per_page=100", as_user="rm-dave")
    git = sb.git
    return {
        "comments": json.dumps(all_comments(run)),
        "issue and PR bodies": json.dumps([(i["title"], i.get("body")) for i in issues]),
        "commit messages": git.out(REPO, "log", "--all", "--format=%B"),
        "ledger files, every version": git.out(
            REPO, "log", "-p", "refs/heads/release-train/ledger"
        ),
    }


def test_no_secret_appears_in_logs_comments_or_the_ledger(
    tmp_path: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """The scenario through the real webhook app (App private key, webhook secret, minted
    installation tokens) and direct reconciles, every log captured at DEBUG."""
    now: list[datetime] = []
    with caplog.at_level(logging.DEBUG), webhook_rig(tmp_path, now) as (sb, app):
        run = play(sb)
        quiet(sb, app)
        secrets = _secrets(sb)
        said = _everything_said(run, sb)
    out, err = capfd.readouterr()
    said |= {"log records": caplog.text, "stdout": out, "stderr": err}
    assert len(secrets) > 8 and any(s.startswith("ghs_") for s in secrets)
    assert sum(len(v) for v in said.values()) > 10_000  # we did capture a story
    leaks = {(where, s[:8]) for where, text in said.items() for s in secrets if s in text}
    assert leaks == set()
