"""The values the manifest updaters take and return."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.core.manifests.image import (
    ImageRef,
    digest_problem,
    name_problem,
    parse_image,
    tag_problem,
)

KINDS = ("kustomize", "helm", "workload", "argocd", "yaml_path")


@dataclass(frozen=True)
class Bump:
    """Set the tag and/or digest (and optionally the name) of one image.

    `image` is the repository without tag, e.g. ``ghcr.io/acme/checkout``; it matches
    ``docker.io/library/nginx`` and ``nginx`` alike.
    """

    image: str
    tag: str | None = None
    digest: str | None = None
    new_name: str | None = None

    def problems(self) -> list[str]:
        """What is wrong with this bump (empty when it can be applied)."""
        return list(_problems(self))


@lru_cache(maxsize=256)  # asked once per file of a bump over many files
def _problems(bump: Bump) -> tuple[str, ...]:
    found: list[str] = []
    ref = parse_image(bump.image)
    if not bump.image.strip() or any(c.isspace() for c in bump.image):
        found.append(f"image {bump.image!r} is not an image repository")
    elif ref.tag is not None or ref.digest is not None:
        found.append(f"image {bump.image!r} must not carry a tag or digest")
    if bump.tag is None and bump.digest is None and bump.new_name is None:
        found.append("a bump needs a tag, a digest or a new name")
    if bump.tag is not None and (p := tag_problem(bump.tag)):
        found.append(p)
    if bump.digest and (p := digest_problem(bump.digest)):  # "": unpin (a revert)
        found.append(p)
    if bump.new_name is not None and (p := name_problem(bump.new_name)):
        found.append(p)
    return tuple(found)


@dataclass(frozen=True)
class Edit:
    """One scalar changed (or one key inserted) in a manifest, for reporting ``old -> new``."""

    file: str
    path: str  # YAML path of the value, e.g. spec.template.spec.containers[name=app].image
    line: int  # 1-based, in the original text
    col: int  # 1-based
    old: str  # the value before ("" when the key was inserted)
    new: str  # the value after
    kind: str  # which updater: one of KINDS
    document: int = 0  # 0-based index of the YAML document in a multi-document file
    inserted: bool = False

    @property
    def label(self) -> str:
        where = self.file or "<input>"
        return f"{where}:{self.line}:{self.col} {self.path}"

    def describe(self) -> str:
        old = self.old if not self.inserted else "(absent)"
        return f"{self.label}: {old} -> {self.new}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "old": self.old,
            "new": self.new,
            "kind": self.kind,
            "document": self.document,
            "inserted": self.inserted,
        }


@dataclass(frozen=True)
class ImageSite:
    """One place in a manifest that names an image (and maybe its tag/digest)."""

    file: str
    path: str
    line: int
    col: int
    kind: str
    image: ImageRef
    document: int = 0

    @property
    def repository(self) -> str:
        return self.image.repository

    @property
    def tag(self) -> str | None:
        return self.image.tag

    @property
    def digest(self) -> str | None:
        return self.image.digest

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "kind": self.kind,
            "repository": self.image.repository,
            "tag": self.image.tag,
            "digest": self.image.digest,
            "document": self.document,
        }


@dataclass(frozen=True)
class Unedited:
    """A place that names the image but is not edited (e.g. text inside a block scalar)."""

    file: str
    path: str  # YAML path of the value that holds it
    line: int  # 1-based, where the image's text starts
    col: int
    text: str  # the image reference as written there
    why: str

    def describe(self) -> str:
        where = self.file or "<input>"
        return f"{where}:{self.line}:{self.col}: {self.path}: {self.text} not edited: {self.why}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "text": self.text,
            "why": self.why,
        }


@dataclass(frozen=True)
class BumpResult:
    """What `plan_text` found: the new text, the edits, every site the image matched, and the
    places that name it but are not edited."""

    text: str
    edits: tuple[Edit, ...]
    matched: tuple[ImageSite, ...]
    unedited: tuple[Unedited, ...] = ()
