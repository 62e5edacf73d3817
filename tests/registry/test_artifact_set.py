"""The train's artifact set, decided from observations with `now` passed in (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.imageref import ImageRef
from bot.config.load import load_config_text
from bot.config.model import Config, Service
from bot.core.artifacts import (
    Observation,
    State,
    decide,
    from_json,
    restamped,
    to_json,
    wanted,
)

CONFIG = """\
version: 1
trains:
  - name: daily
services:
  - {name: checkout, image: ghcr.io/acme/checkout, paths: ["checkout/**"]}
  - {name: web, image: nginx, paths: ["web/**"], tag: "{train}-{short_sha}"}
  - {name: search, image: "registry.local:5000/acme/search", paths: ["search/**"]}
artifacts:
  timeout: 30m
  pin: {web: tag}
"""
SHA = "1234567890abcdef1234567890abcdef12345678"
OLD = "fedcba0987654321fedcba0987654321fedcba09"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DIGEST = "sha256:" + "c" * 64


def _setup(changed: list[str]) -> tuple[Config, tuple[tuple[Service, ImageRef], ...]]:
    config = load_config_text(CONFIG, "cfg.yml")
    refs = wanted(config, config.trains[0], changed, SHA, "daily-2026-03-02", T0)
    return config, refs


def test_only_changed_services_with_their_rendered_tags() -> None:
    _, refs = _setup(["checkout/main.go", "web/index.html", "README.md"])
    assert [(s.name, str(r)) for s, r in refs] == [
        ("checkout", "ghcr.io/acme/checkout:1234567"),
        ("web", "docker.io/library/nginx:daily-2026-03-02-1234567"),
    ]


def test_found_when_built_from_the_landing_commit_and_pinned_per_service() -> None:
    config, refs = _setup(["checkout/a", "web/b"])
    seen = {"checkout": Observation(DIGEST, SHA), "web": Observation(DIGEST, SHA)}
    result = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=T0)
    assert [a.state for a in result.artifacts] == [State.FOUND, State.FOUND]
    assert result.settled and result.shipping == ("checkout", "web")
    checkout, web = result.artifacts
    assert checkout.image == f"ghcr.io/acme/checkout:1234567@{DIGEST}"
    assert web.image == "nginx:daily-2026-03-02-1234567"  # pin: tag


def test_a_revision_mismatch_fails_naming_both_commits() -> None:
    config, refs = _setup(["checkout/a"])
    seen = {"checkout": Observation(DIGEST, OLD)}
    (artifact,) = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=T0).artifacts
    assert artifact.state is State.FAILED and not artifact.ships
    assert OLD[:12] in artifact.reason and SHA[:12] in artifact.reason


def test_a_commit_with_the_same_tree_counts() -> None:
    config, refs = _setup(["checkout/a"])
    seen = {"checkout": Observation(DIGEST, OLD)}
    result = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=T0, same_tree=[OLD])
    assert result.artifacts[0].state is State.FOUND


def test_missing_waits_then_is_left_out_at_the_timeout() -> None:
    config, refs = _setup(["checkout/a"])
    seen = {"checkout": Observation(missing="no manifest 1234567")}
    early = decide(
        config, refs, seen, revision=SHA, waiting_since=T0, now=T0 + timedelta(minutes=10)
    )
    late = decide(
        config, refs, seen, revision=SHA, waiting_since=T0, now=T0 + timedelta(minutes=30)
    )
    assert early.artifacts[0].state is State.WAITING and not early.settled
    assert "left out in 20m" in early.artifacts[0].reason
    assert late.artifacts[0].state is State.LEFT_OUT and late.settled
    assert "after 30m" in late.artifacts[0].reason and "next train" in late.artifacts[0].reason


def test_a_failing_registry_keeps_waiting_past_the_timeout() -> None:
    config, refs = _setup(["checkout/a"])
    seen = {"checkout": Observation(error="registry: ghcr.io answered HTTP 503")}
    result = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=T0 + timedelta(days=1))
    assert result.artifacts[0].state is State.WAITING and "503" in result.artifacts[0].reason


def test_an_unlabelled_image_fails_unless_built_by_vouches() -> None:
    config, refs = _setup(["checkout/a"])
    bare = decide(config, refs, {"checkout": Observation(DIGEST)}, revision=SHA,
                  waiting_since=T0, now=T0)  # fmt: skip
    assert bare.artifacts[0].state is State.FAILED
    assert "org.opencontainers.image.revision" in bare.artifacts[0].reason
    vouched = load_config_text(CONFIG + "  built_by: build\n", "cfg.yml")
    ok = decide(vouched, refs, {"checkout": Observation(DIGEST, built_by=True)}, revision=SHA,
                waiting_since=T0, now=T0)  # fmt: skip
    assert ok.artifacts[0].state is State.FOUND


def test_a_moved_tag_names_both_digests() -> None:
    config, refs = _setup(["checkout/a"])
    seen = {"checkout": Observation(DIGEST, SHA)}
    (artifact,) = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=T0).artifacts
    assert restamped(artifact, DIGEST) == ""
    moved = restamped(artifact, "sha256:" + "d" * 64)
    assert DIGEST in moved and "d" * 64 in moved


def test_the_ledger_form_round_trips_and_refuses_garbage() -> None:
    config, refs = _setup(["checkout/a", "web/b", "search/c"])
    seen = {"checkout": Observation(DIGEST, SHA), "web": Observation(DIGEST, OLD)}
    result = decide(config, refs, seen, revision=SHA, waiting_since=T0, now=T0)
    assert from_json(to_json(result)) == result
    assert to_json(result)["artifacts"][1]["state"] == "failed"  # type: ignore[index]
    with pytest.raises(ValueError, match=r"artifacts\[0\].state"):
        from_json({"revision": SHA, "artifacts": [{"service": "x", "state": "shipped"}]})
    with pytest.raises(ValueError, match="expected"):
        from_json([])
