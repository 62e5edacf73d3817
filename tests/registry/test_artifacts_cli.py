"""`release-train artifacts` as a user runs it, against the sandbox's registry and (when
installed) a real CNCF Distribution with htpasswd, credentials from the operator's
RELEASE_TRAIN_SOURCES file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from oci_images import PASSWORD, USER, Oci, free_port

from bot.cli import main

SHA = "1234567890abcdef1234567890abcdef12345678"
OLD = "fedcba0987654321fedcba0987654321fedcba09"


def _config(tmp_path: Path, host: str, names: dict[str, str]) -> Path:
    services = "".join(f"  - {{name: {s}, image: '{host}/{repo}'}}\n" for s, repo in names.items())
    path = tmp_path / "cfg.yml"
    path.write_text(f"version: 1\ntrains:\n  - name: daily\nservices:\n{services}")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["artifacts", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def _sources(tmp_path: Path, oci: Oci, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "sources.yml"
    sources.write_text(
        f"sources:\n  registry:\n    url: {oci.url}\n"
        "    username_env: REG_USER\n    password_env: REG_PASSWORD\n"
    )
    monkeypatch.setenv("RELEASE_TRAIN_SOURCES", str(sources))
    monkeypatch.setenv("REG_USER", USER)
    monkeypatch.setenv("REG_PASSWORD", PASSWORD)


def test_found_mismatch_and_missing(
    oci: Oci, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if oci.kind not in ("sandbox-bearer", "distribution-htpasswd"):
        pytest.skip("one anonymous-bearer and one htpasswd registry cover the command")
    if oci.needs_credentials:
        _sources(tmp_path, oci, monkeypatch)
    good, stale, absent = oci.name("acme/good"), oci.name("acme/stale"), oci.name("acme/absent")
    digest = oci.pusher.image(good, SHA[:7], revision=SHA)
    oci.pusher.image(stale, SHA[:7], revision=OLD)
    config = _config(tmp_path, oci.host, {"good": good, "stale": stale, "absent": absent})
    code, out = _run(capsys, "--config", str(config), "--revision", SHA)
    states = {a["service"]: a for a in out["artifacts"]}
    assert code == 1
    assert states["good"]["state"] == "found" and states["good"]["digest"] == digest
    assert states["good"]["pinned"] == f"{oci.host}/{good}:{SHA[:7]}@{digest}"
    assert states["stale"]["state"] == "failed"
    assert OLD[:12] in states["stale"]["reason"] and SHA[:12] in states["stale"]["reason"]
    assert states["absent"]["state"] == "missing"
    code, out = _run(capsys, "--config", str(config), "--revision", SHA, "--service", "good")
    assert code == 0 and [a["state"] for a in out["artifacts"]] == ["found"]
    assert out["requests"] <= 4  # manifest + config (+ one challenge and its token)


def test_unreachable_registry_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, f"127.0.0.1:{free_port()}", {"app": "acme/app"})
    code, out = _run(capsys, "--config", str(config), "--revision", SHA)
    assert code == 4
    assert (
        out["artifacts"][0]["state"] == "error" and "unreachable" in out["artifacts"][0]["reason"]
    )


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "127.0.0.1:1", {"app": "acme/app"})
    assert main(["artifacts", "--config", str(config), "--revision", "abc"]) == 2
    assert "40 hex" in capsys.readouterr().err
    assert main(["artifacts", "--config", str(config), "--revision", SHA, "--service", "x"]) == 2
    assert "no service 'x'" in capsys.readouterr().err
