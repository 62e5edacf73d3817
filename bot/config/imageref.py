"""Image references (`ghcr.io/acme/app:1.2@sha256:…`), parsed the way Docker reads them.

Pure (in config: the configuration names images, and validate checks them): the grammar
of the CNCF Distribution `reference` package, reduced to what the bot
needs. A first path component with a `.` or a `:` (or `localhost`) is a registry host;
otherwise the image lives on Docker Hub, whose API host is `registry-1.docker.io` and
whose one-component names live under `library/` (`nginx` → `library/nginx`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_HOST = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$"
)
TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
MAX_NAME = 255


class BadReference(ValueError):
    """Text that is not an image reference; the message says which part is wrong."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed reference. `registry` is the host as written (Docker Hub: `docker.io`)."""

    registry: str
    repository: str  # e.g. acme/app; Docker Hub official images: library/nginx
    tag: str = ""
    digest: str = ""

    @property
    def api_host(self) -> str:
        """The host (and port) the Distribution API answers on."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def host(self) -> str:
        """The API host without its port."""
        host = self.api_host
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def reference(self) -> str:
        """What the manifest endpoint is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def with_tag(self, tag: str) -> ImageRef:
        return ImageRef(self.registry, self.repository, tag, "")

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        text += f":{self.tag}" if self.tag else ""
        return text + (f"@{self.digest}" if self.digest else "")


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        if not _HOST.match(first):
            raise BadReference(f"{first!r} is not a registry host[:port]")
        registry = DOCKER_HUB if first.lower() in _HUB_ALIASES else first
        return registry, rest
    return DOCKER_HUB, name


def _split_tag(text: str) -> tuple[str, str]:
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        return text[:colon], text[colon + 1 :]
    return text, ""


def parse_image(text: str, *, allow_tag: bool = True) -> ImageRef:
    """`text` as an `ImageRef`; `BadReference` says what is wrong. With `allow_tag=False`
    (a service's `image:`), a tag or digest is refused."""
    if not text or text != text.strip():
        raise BadReference("an image reference may not be empty or have surrounding spaces")
    rest, _, digest = text.partition("@")
    if digest and not DIGEST.match(digest):
        raise BadReference(f"{digest!r} is not a digest (sha256: and 64 lowercase hex digits)")
    registry, path = _split_registry(rest)
    path, tag = _split_tag(path)
    if tag and not TAG.match(tag):
        raise BadReference(f"{tag!r} is not a valid tag (letters, digits, '_', '.', '-')")
    if (tag or digest) and not allow_tag:
        raise BadReference("give the repository only, without a tag or digest")
    components = path.split("/")
    for part in components:
        if not _COMPONENT.match(part):
            raise BadReference(
                f"{part or '(empty)'!r} is not a valid repository component "
                "(lowercase letters and digits, separated by '.', '_', '__' or '-')"
            )
    if registry == DOCKER_HUB and len(components) == 1:
        path = f"library/{path}"
    if len(registry) + 1 + len(path) > MAX_NAME:
        raise BadReference(f"the repository name is longer than {MAX_NAME} characters")
    return ImageRef(registry, path, tag, digest)
