from __future__ import annotations

import pytest

from bot.core.manifests import ImageRef, normalize_repository, parse_image, same_repository
from bot.core.manifests.image import looks_like_image


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nginx", ImageRef("nginx")),
        ("nginx:1.25", ImageRef("nginx", "1.25")),
        ("registry:5000/a/b:tag@sha256:abc", ImageRef("registry:5000/a/b", "tag", "sha256:abc")),
        ("registry:5000/a/b", ImageRef("registry:5000/a/b")),
        ("localhost:5000/app@sha256:ff", ImageRef("localhost:5000/app", None, "sha256:ff")),
        ("ghcr.io/acme/checkout:1.2.3", ImageRef("ghcr.io/acme/checkout", "1.2.3")),
        ("busybox:1.38.0@sha256:fd8d", ImageRef("busybox", "1.38.0", "sha256:fd8d")),
    ],
)
def test_parse_image(text: str, expected: ImageRef) -> None:
    assert parse_image(text) == expected


def test_format_round_trips() -> None:
    for text in ("a/b:1", "r:5000/a@sha256:00", "x:1@sha256:00", "plain"):
        assert str(parse_image(text)) == text


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("nginx", "docker.io/library/nginx", True),
        ("nginx", "index.docker.io/library/nginx", True),
        ("bitnami/redis", "docker.io/bitnami/redis", True),
        ("ghcr.io/acme/a", "ghcr.io/acme/a", True),
        ("ghcr.io/acme/a", "ghcr.io/acme/ab", False),
        ("ghcr.io/acme/a", "docker.io/acme/a", False),
        ("localhost/app", "docker.io/localhost/app", False),
        ("GHCR.IO/acme/a", "ghcr.io/acme/a", True),
    ],
)
def test_same_repository(a: str, b: str, same: bool) -> None:
    assert same_repository(a, b) is same


def test_normalize() -> None:
    assert normalize_repository("nginx") == "docker.io/library/nginx"
    assert normalize_repository("quay.io/x/y") == "quay.io/x/y"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("nginx", True),
        ("a/b:1", True),
        ("/logo.png", False),
        ("", False),
        ("a b", False),
        ("{{ .Values.image }}", False),
        ("repo:", False),
    ],
)
def test_looks_like_image(text: str, ok: bool) -> None:
    assert looks_like_image(text) is ok
