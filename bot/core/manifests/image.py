"""Container image references: parse, format, compare.

A reference is ``[registry[:port]/]path[:tag][@digest]``. Parsing is lenient (manifests hold
placeholders such as ``CONTAINER_IMAGES_REGISTRY/adservice``); `looks_like_image` and the
``*_problem`` helpers say whether a value is acceptable where it matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}")
_LOOSE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/:@+]*")
_NAME_RE = re.compile(
    r"(?:[A-Za-z0-9.\-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference. `repository` keeps the spelling found (registry included)."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def normalized(self) -> str:
        return normalize_repository(self.repository)

    def __str__(self) -> str:
        return format_image(self.repository, self.tag, self.digest)


def format_image(repository: str, tag: str | None, digest: str | None) -> str:
    text = repository
    if tag:
        text += f":{tag}"
    if digest:
        text += f"@{digest}"
    return text


def parse_image(text: str) -> ImageRef:
    """Split ``registry:5000/a/b:tag@sha256:...`` into repository, tag and digest."""
    rest, _, digest = text.strip().partition("@")
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag: str | None = None
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
    return ImageRef(repository=rest, tag=tag, digest=digest or None)


def _split_domain(repository: str) -> tuple[str, str]:
    first, sep, rest = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first.lower(), rest
    return "docker.io", repository


def normalize_repository(repository: str) -> str:
    """The canonical spelling: ``nginx`` and ``docker.io/library/nginx`` compare equal."""
    domain, path = _split_domain(repository.strip())
    if domain in _DOCKER_HUB_ALIASES:
        domain = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    return f"{domain}/{path}"


def same_repository(a: str, b: str) -> bool:
    return normalize_repository(a) == normalize_repository(b)


def looks_like_image(text: str) -> bool:
    """Loose check used to decide whether a string value is an image reference at all."""
    if not _LOOSE_RE.fullmatch(text) or "//" in text or text.endswith((":", "/", "@")):
        return False
    return bool(parse_image(text).repository)


def tag_problem(tag: str) -> str | None:
    if _TAG_RE.fullmatch(tag):
        return None
    return f"{tag!r} is not a valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})"


def digest_problem(digest: str) -> str | None:
    if _DIGEST_RE.fullmatch(digest):
        return None
    return f"{digest!r} is not a valid image digest (algorithm:hex, e.g. sha256:...)"


def name_problem(name: str) -> str | None:
    if _NAME_RE.fullmatch(name):
        return None
    return f"{name!r} is not a valid image repository name"
