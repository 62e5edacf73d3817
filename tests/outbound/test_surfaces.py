"""A refused target is a configuration problem everywhere: `validate` (FILE:LINE:COL),
`slo check` and `reconcile` (exit 1), the App (an issue or train-PR comment that says
so, through the sandbox) and the Action (an ::error annotation, exit 1). Never a silent
skip, and nothing is sent."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config.operator import outbound_from_env
from bot.config.outbound import Mode
from bot.errors import ConfigError
from bot.sandbox import appauth
from bot.transports.action import run_action
from bot.transports.app import ReconcileRequest, github_reconciler
from bot.transports.auth import AppAuth
from bot.transports.settings import Settings, settings_from_env

from .catcher import Catcher

NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
BASE = """\
version: 1
trains: [{name: web, label: "train:next", cadence: "0 9 * * 1", base: main}]
services: [{name: web, image: ghcr.io/acme/web}]
stages: [{name: staging, soak: 10m, slos: [errors]}]
slos:
  - name: errors
    error_ratio: sum(rate(errors[{window}])) / sum(rate(requests[{window}]))
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".github" / "release-train.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_validate_names_what_replaced_the_env_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, BASE + "prometheus:\n  url: http://p:9090\n  token_env: APP_ID\n")
    assert main(["validate", str(path), "--repo-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:10:3: prometheus.token_env was removed" in out
    assert "PROMETHEUS_TOKEN" in out and "prometheus.source" in out


def test_validate_refuses_credential_headers_at_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = BASE + "prometheus:\n  source: prod\n  headers:\n    Authorization: Bearer x\n"
    path = write(tmp_path, text)
    assert main(["validate", str(path), "--repo-root", str(tmp_path)]) == 1
    assert f"{path}:11:5: prometheus.headers: header 'Authorization'" in capsys.readouterr().out


def test_validate_app_checks_targets_as_the_app_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELEASE_TRAIN_ALLOW_URLS", "*")
    path = write(tmp_path, BASE + "prometheus:\n  url: http://169.254.169.254/latest\n")
    args = ["validate", str(path), "--repo-root", str(tmp_path)]
    assert main(args) == 0  # the CLI (operator) may go there
    capsys.readouterr()
    assert main([*args, "--app"]) == 1
    out = capsys.readouterr().out
    assert f"{path}:9:8: prometheus.url: refused: 169.254.169.254 is a link-local" in out


def test_validate_app_checks_source_names_against_the_operators_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.yml"
    sources.write_text("sources:\n  prod-eu: {url: 'https://prom.eu'}\n")
    monkeypatch.setenv("RELEASE_TRAIN_SOURCES", str(sources))
    path = write(tmp_path, BASE + "prometheus: {source: prod-us}\n")
    assert main(["validate", str(path), "--repo-root", str(tmp_path), "--app"]) == 1
    out = capsys.readouterr().out
    assert "prometheus.source: 'prod-us' is not one of the operator's sources: prod-eu" in out


def test_slo_check_refuses_an_unknown_source_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELEASE_TRAIN_SOURCES", raising=False)
    path = write(tmp_path, BASE + "prometheus: {source: prod-eu}\n")
    assert main(["slo", "check", "--config", str(path), "--stage", "staging"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:8:22: prometheus.source: 'prod-eu' is not one of" in err


def test_a_bad_sources_file_stops_serve_naming_the_line(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yml"
    sources.write_text("sources:\n  prod:\n    url: ftp://x\n    token_env: NOT_SET_ANYWHERE\n")
    with pytest.raises(ConfigError) as info:
        outbound_from_env({"RELEASE_TRAIN_SOURCES": str(sources)}, Mode.APP)
    rendered = [p.render() for p in info.value.problems]
    assert f"{sources}:3:10: source 'prod': url must be http(s)" in rendered
    assert any("NOT_SET_ANYWHERE is not set" in r for r in rendered)


def sandbox_repo(sandbox: Any, repo: str, config: str) -> None:
    sandbox.scenario.create_repo(repo, {".github/release-train.yml": config, "app.txt": "1\n"})
    sandbox.scenario.install_bot(repo)


def test_the_app_reports_a_refused_target_as_an_invalid_configuration(
    sandbox: Any, catchers: list[Catcher]
) -> None:
    """The production reconciler of `serve`, against the sandbox: a repository pointing
    the App at loopback gets the configuration-error issue, with the position."""
    repo = "acme/ssrf"
    internal = catchers[0]
    sandbox_repo(sandbox, repo, BASE + f"prometheus:\n  url: {internal.url}/\n")
    settings = Settings(
        app_id=str(appauth.app_id(sandbox.store)),
        private_key=appauth.private_key_pem(sandbox.store),
        webhook_secret="s",
        api_url=sandbox.base_url,
        bot_login="release-train[bot]",
        schedule_interval=0,
        outbound=outbound_from_env({"RELEASE_TRAIN_ALLOW_URLS": "*"}, Mode.APP),
    )
    auth = AppAuth(settings.app_id, settings.private_key, settings.api_url)
    result = github_reconciler(settings, auth, lambda: "release-train[bot]")(
        ReconcileRequest(repo, NOW, None, None)
    )
    problems = list(getattr(result, "problems", ()))
    assert problems and problems[0].startswith(".github/release-train.yml:9:8: prometheus.url")
    issues = sandbox.scenario.call("GET", f"/repos/{repo}/issues?state=all", as_user="rm-dave")
    [issue] = [i for i in issues if i["title"] == "Release train: invalid configuration"]
    assert "is a loopback address" in issue["body"]
    assert internal.connections == 0


def test_the_action_reports_an_unknown_source_as_an_error_annotation(
    sandbox: Any, tmp_path: Path
) -> None:
    repo = "acme/action-source"
    sandbox_repo(sandbox, repo, BASE + "prometheus:\n  source: prod-eu\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({}))
    env = {
        "GITHUB_EVENT_NAME": "schedule",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_API_URL": sandbox.base_url,
        "RELEASE_TRAIN_TOKEN": sandbox.bot_token(),
        "RELEASE_TRAIN_BOT_LOGIN": "release-train[bot]",
    }
    out = io.StringIO()
    code, _ = run_action(env, NOW, stdout=out)
    assert code == 1
    assert "::error file=.github/release-train.yml,line=9,col=11::prometheus.source" in (
        out.getvalue()
    )


def test_cli_reconcile_exits_1_on_a_refused_target(
    sandbox: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = "acme/cli-source"
    sandbox_repo(sandbox, repo, BASE + "prometheus: {source: nowhere}\n")
    monkeypatch.setenv("GITHUB_TOKEN", sandbox.bot_token())
    monkeypatch.delenv("RELEASE_TRAIN_SOURCES", raising=False)
    code = main(["reconcile", "--repo", repo, "--api-url", sandbox.base_url])
    assert code == 1
    assert "problem: .github/release-train.yml:8:22: prometheus.source" in capsys.readouterr().out


def test_serve_settings_carry_the_operators_policy_and_listeners(private_key: str) -> None:
    env = {
        "APP_ID": "1",
        "PRIVATE_KEY": private_key,
        "WEBHOOK_SECRET": "w",
        "PROMETHEUS_URL": "http://prom:9090",
        "PROMETHEUS_TOKEN": "tok",
    }
    settings = settings_from_env(env, listeners=(("0.0.0.0", 3000),))
    assert settings.outbound.mode is Mode.APP
    assert settings.outbound.listeners == (("0.0.0.0", 3000),)
    assert "tok" in settings.secrets() and "tok" not in repr(settings)


@pytest.fixture(scope="module")
def private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_shared_policy_file_may_not_set_credential_headers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policies" / "team.yml"
    path.parent.mkdir()
    path.write_text("prometheus:\n  headers:\n    Cookie: session=abc\n")
    assert main(["validate", "--policy", str(path)]) == 1
    assert f"{path}:3:5: prometheus.headers: header 'Cookie'" in capsys.readouterr().out


def test_a_hostname_resolving_inward_is_a_positioned_problem() -> None:
    from bot.config.load import analyse
    from bot.config.outbound import OutboundPolicy

    policy = OutboundPolicy(
        Mode.APP, allow_urls=("*",), resolver=lambda host, port: ["169.254.169.254"]
    )
    text = BASE + "prometheus:\n  url: http://metadata.example/latest\n"
    [problem] = analyse(text, "c.yml", outbound=policy, resolve=True).errors
    assert problem.render() == (
        "c.yml:9:8: prometheus.url: refused: metadata.example resolves to a refused address: "
        "169.254.169.254 "
        "is a link-local address (cloud metadata lives there)"
    )
