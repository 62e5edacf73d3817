from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.transports.settings import settings_from_env


def env(private_key_pem: str, **extra: str) -> dict[str, str]:
    return {"APP_ID": "12", "PRIVATE_KEY": private_key_pem, "WEBHOOK_SECRET": "s3", **extra}


def test_complete_environment(private_key_pem: str) -> None:
    s = settings_from_env(
        env(
            private_key_pem,
            PROMETHEUS_URL="http://prom:9090/",
            PROMETHEUS_TOKEN="ptok",
            APP_SLUG="release-train",
        )
    )
    assert s.app_id == "12" and s.webhook_secret == "s3"
    assert s.api_url == "https://api.github.com"
    assert s.prometheus_url == "http://prom:9090"
    assert s.bot_login == "release-train[bot]"
    assert set(s.secrets()) == {s.private_key, "s3", "ptok"}


def test_secrets_stay_out_of_repr(private_key_pem: str) -> None:
    s = settings_from_env(
        env(private_key_pem, PROMETHEUS_URL="http://prom:9090", PROMETHEUS_TOKEN="ptok-value")
    )
    text = repr(s)
    assert "webhook_secret" not in text and "private_key" not in text
    assert "PRIVATE KEY" not in text and "ptok-value" not in text


@pytest.mark.parametrize("missing", ["APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET"])
def test_a_missing_setting_is_named(private_key_pem: str, missing: str) -> None:
    values = env(private_key_pem)
    del values[missing]
    with pytest.raises(ConfigError) as info:
        settings_from_env(values)
    assert missing in str(info.value)
    assert len(info.value.problems) == 1


def test_every_missing_setting_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_env({})
    text = str(info.value)
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET"):
        assert name in text


def test_private_key_from_a_file(private_key_pem: str, tmp_path: Path) -> None:
    path = tmp_path / "app.pem"
    path.write_text(private_key_pem)
    values = env(private_key_pem, PRIVATE_KEY_PATH=str(path))
    del values["PRIVATE_KEY"]
    assert settings_from_env(values).private_key.strip() == private_key_pem.strip()


def test_unreadable_key_file_names_the_variable(private_key_pem: str, tmp_path: Path) -> None:
    values = env(private_key_pem, PRIVATE_KEY_PATH=str(tmp_path / "nope.pem"))
    del values["PRIVATE_KEY"]
    with pytest.raises(ConfigError, match="PRIVATE_KEY_PATH"):
        settings_from_env(values)


def test_one_line_key_with_escaped_newlines(private_key_pem: str) -> None:
    one_line = private_key_pem.strip().replace("\n", "\\n")
    s = settings_from_env(env(one_line))
    assert s.private_key.strip() == private_key_pem.strip()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("APP_ID", "abc"),
        ("PRIVATE_KEY", "not a key"),
        ("GITHUB_API_URL", "ftp://x"),
        ("PROMETHEUS_URL", "prom:9090"),
        ("SCHEDULE_INTERVAL", "soon"),
        ("RECONCILE_THREADS", "0"),
    ],
)
def test_malformed_values_are_named(private_key_pem: str, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_env({**env(private_key_pem), name: value})
    assert name in str(info.value)


def test_enterprise_api_url(private_key_pem: str) -> None:
    s = settings_from_env(env(private_key_pem, GITHUB_API_URL="https://ghe.example/api/v3/"))
    assert s.api_url == "https://ghe.example/api/v3"


def test_serve_without_settings_exits_1_naming_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "APP_ID" in err and "WEBHOOK_SECRET" in err and "Traceback" not in err
