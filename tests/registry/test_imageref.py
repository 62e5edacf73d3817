"""Image references as Docker reads them (pure)."""

from __future__ import annotations

import pytest

from bot.config.imageref import BadReference, ImageRef, parse_image

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected", "api_host"),
    [
        ("nginx", ImageRef("docker.io", "library/nginx"), "registry-1.docker.io"),
        ("nginx:1.25", ImageRef("docker.io", "library/nginx", "1.25"), "registry-1.docker.io"),
        ("bitnami/redis", ImageRef("docker.io", "bitnami/redis"), "registry-1.docker.io"),
        ("docker.io/nginx", ImageRef("docker.io", "library/nginx"), "registry-1.docker.io"),
        ("index.docker.io/a/b:t", ImageRef("docker.io", "a/b", "t"), "registry-1.docker.io"),
        ("ghcr.io/acme/app:abc1234", ImageRef("ghcr.io", "acme/app", "abc1234"), "ghcr.io"),
        ("localhost:5000/app", ImageRef("localhost:5000", "app"), "localhost:5000"),
        ("localhost/app", ImageRef("localhost", "app"), "localhost"),
        (
            f"reg.example.com:8443/team/app:v1@{DIGEST}",
            ImageRef("reg.example.com:8443", "team/app", "v1", DIGEST),
            "reg.example.com:8443",
        ),
        (f"ghcr.io/a/b@{DIGEST}", ImageRef("ghcr.io", "a/b", "", DIGEST), "ghcr.io"),
    ],
)
def test_parses_like_docker(text: str, expected: ImageRef, api_host: str) -> None:
    ref = parse_image(text)
    assert ref == expected
    assert ref.api_host == api_host
    assert parse_image(str(ref)) == ref


def test_reference_prefers_the_digest_and_host_drops_the_port() -> None:
    assert parse_image(f"ghcr.io/a/b:v1@{DIGEST}").reference == DIGEST
    assert parse_image("ghcr.io/a/b:v1").reference == "v1"
    assert parse_image("ghcr.io/a/b").reference == "latest"
    assert parse_image("127.0.0.1:5000/a").host == "127.0.0.1"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("ghcr.io/Acme/app", "'Acme' is not a valid repository component"),
        ("ghcr.io/acme//app", "'(empty)'"),
        ("ghcr.io/acme/app:bad tag", "'bad tag' is not a valid tag"),
        ("ghcr.io/acme/app:-x", "not a valid tag"),
        ("ghcr.io/acme/app@sha256:123", "not a digest"),
        ("bad_host.io:x/app", "registry host"),
    ],
)
def test_bad_references_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(BadReference, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_image(text)


def test_a_service_image_takes_no_tag() -> None:
    with pytest.raises(BadReference, match="without a tag"):
        parse_image("ghcr.io/acme/app:v1", allow_tag=False)
    assert parse_image("ghcr.io/acme/app", allow_tag=False).tag == ""
