"""The `artifacts:` block and image references in the configuration: built into the model,
and reported with FILE:LINE:COL when wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.load import load_config_text, validate_text

BASE = """\
version: 1
trains:
  - name: daily
services:
  - name: checkout
    image: ghcr.io/acme/checkout
  - name: web
    image: nginx
"""


def test_defaults_pin_by_digest_and_wait_two_hours() -> None:
    config = load_config_text(BASE, "cfg.yml")
    assert config.artifacts.timeout == timedelta(hours=2)
    assert config.artifacts.pin_for("checkout") == "digest"
    assert config.artifacts.platform == "linux/amd64"


def test_artifacts_block_builds_into_the_model() -> None:
    text = BASE + (
        "artifacts:\n  timeout: 45m\n  built_by: build-and-push\n  platform: linux/arm64/v8\n"
        "  pin: {default: tag, checkout: digest}\n"
    )
    config = load_config_text(text, "cfg.yml")
    assert config.artifacts.timeout == timedelta(minutes=45)
    assert config.artifacts.pin_for("checkout") == "digest"
    assert config.artifacts.pin_for("web") == "tag"
    assert config.artifacts.built_by == "build-and-push"
    assert config.artifacts.platform == "linux/arm64/v8"


@pytest.mark.parametrize(
    ("line", "where", "fragment"),
    [
        ("    image: ghcr.io/Acme/checkout", ":6:12:", "'Acme' is not a valid repository"),
        ("    image: ghcr.io/acme//checkout", ":6:12:", "not a valid repository component"),
    ],
)
def test_malformed_image_is_reported_at_its_value(line: str, where: str, fragment: str) -> None:
    text = BASE.replace("    image: ghcr.io/acme/checkout", line)
    rendered = [p.render() for p in validate_text(text, "cfg.yml") if p.severity == "error"]
    assert any(r.startswith("cfg.yml" + where) and fragment in r for r in rendered), rendered


def test_pin_names_a_service_and_a_known_mode() -> None:
    text = BASE + "artifacts:\n  pin:\n    checkuot: tag\n    web: sha\n"
    rendered = [p.render() for p in validate_text(text, "cfg.yml")]
    assert any(r.startswith("cfg.yml:11:5:") and "'checkuot' is not a service" in r
               for r in rendered), rendered  # fmt: skip
    assert any(r.startswith("cfg.yml:12:10:") and "'sha'" in r for r in rendered), rendered


def test_validate_cli_exits_1_on_a_bad_image(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    path = tmp_path / "cfg.yml"
    path.write_text(BASE.replace("image: nginx", "image: nginx:latest"), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:8:12:" in out and out.count(f"{path}:8:12:") == 1
