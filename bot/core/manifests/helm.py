"""Helm values and other image-holding keys, at any depth.

An image is held by one of these shapes (``fooImage`` / ``foo_image`` keys count as ``image``):

- a whole reference: ``image: ghcr.io/a/app:1.0`` (or ``natsImage: nats:2.10``);
- a block: a mapping with ``repository`` and a ``tag``/``digest``/``sha``, or any mapping under
  an image key with a ``repository`` (``image: {repository, tag}``, ``configReloaderImage:
  {registry, repository, tag, sha}``), or an image key's mapping ``{name, tag}``;
- siblings: ``{image: ghcr.io/x/exporter, tag: v1.75.0}`` - the chart joins them, so the
  ``tag`` key is bumped and the ``image`` string keeps its bare repository.

An optional ``registry`` key is joined in front of the repository. A ``sha`` key holds a bare
sha256 hex digest (the chart writes ``@sha256:{{ .sha }}``): it is a digest pin like
``digest``, and ``--digest sha256:...`` writes its hex there.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.manifests.image import ImageRef, looks_like_image, parse_image
from bot.core.manifests.locate import Doc, Node, Slot, Visit, is_scalar, slot
from bot.core.manifests.model import Bump
from bot.core.manifests.plan import (
    Change,
    Site,
    insert_key,
    pinned,
    ref_site,
    refuse,
    replace,
)

KIND = "helm"
_SHA256 = "sha256:"


_IMAGE_SUFFIXES = ("image", "Image")


def image_key(key: str | None) -> bool:
    """``image``, ``natsImage``, ``sidecar_image``: a key named for the image it holds."""
    return key is not None and key.endswith(_IMAGE_SUFFIXES)


@dataclass(frozen=True)
class Fields:
    """The slots of one image block: where its name, tag and digest are written."""

    name: Slot  # the repository (a `repository`, `name` or sibling `image` value)
    registry: Slot | None = None
    tag: Slot | None = None
    digest: Slot | None = None
    sha: bool = False  # the digest slot is a `sha` key: bare hex, no `sha256:`

    @property
    def digest_value(self) -> str | None:
        if self.digest is None or not self.digest.value:
            return None
        value = self.digest.value
        return _SHA256 + value if self.sha and ":" not in value else value

    def image(self) -> ImageRef:
        registry = self.registry.value if self.registry is not None else ""
        name = self.name.value
        full = f"{registry.rstrip('/')}/{name}" if registry else name
        tag = self.tag.value or None if self.tag is not None else None
        return ImageRef(full, tag, self.digest_value)


def _slot_of(doc: Doc, visit: Visit, key: str) -> Slot | None:
    kid = doc.child(visit, key)
    return slot(doc, kid) if kid is not None else None


def _digest_slot(doc: Doc, visit: Visit) -> tuple[Slot | None, bool]:
    digest = _slot_of(doc, visit, "digest")
    if digest is not None:
        return digest, False
    return _slot_of(doc, visit, "sha"), True


_BLOCK_KEYS = frozenset({"repository", "tag", "digest", "sha", "image", "name"})
_VERSION_KEYS = ("tag", "digest", "sha")


def _keys(node: Node) -> dict[str, Node]:
    return {k.value: v for k, v in node.value if k.id == "scalar" and k.value in _BLOCK_KEYS}


def _sibling_image(doc: Doc, visit: Visit, keys: dict[str, Node]) -> Slot | None:
    """The ``image`` string of a mapping that also holds its tag or digest, if it is one."""
    if not is_scalar(keys.get("image")) or "repository" in keys:
        return None
    found = _slot_of(doc, visit, "image")
    if found is None or not found.value or not looks_like_image(found.value):
        return None
    ref = parse_image(found.value)
    return found if ref.tag is None and ref.digest is None else None


def _name_slot(doc: Doc, visit: Visit, keys: dict[str, Node]) -> Slot | None:
    """The repository of a block mapping, or None when `visit` is not a block."""
    has_version = any(key in keys for key in _VERSION_KEYS)
    if is_scalar(keys.get("repository")):
        if has_version or image_key(visit.key):
            return _slot_of(doc, visit, "repository")
        return None
    if not has_version:
        return None
    if image_key(visit.key) and is_scalar(keys.get("name")):
        found = _slot_of(doc, visit, "name")
        return found if found is not None and looks_like_image(found.value) else None
    return _sibling_image(doc, visit, keys)


def block_fields(doc: Doc, visit: Visit) -> Fields | None:
    """The fields of `visit` when it is an image block (any of the mapping shapes)."""
    if visit.node.id != "mapping" or visit.alias:
        return None
    keys = _keys(visit.node)
    if not keys:
        return None
    name = _name_slot(doc, visit, keys)
    if name is None:
        return None
    digest, sha = _digest_slot(doc, visit)
    registry = _slot_of(doc, visit, "registry")
    return Fields(name, registry, _slot_of(doc, visit, "tag"), digest, sha)


def _plan_name(doc: Doc, fields: Fields, bump: Bump) -> list[Change]:
    new_name = bump.new_name or ""
    registry = fields.registry
    if registry is None or not registry.value:
        return replace(doc, fields.name, new_name, KIND)
    prefix = registry.value.rstrip("/") + "/"
    if not new_name.startswith(prefix):
        message = f"new name {new_name!r} is not under registry {registry.value!r}"
        raise refuse(doc, fields.name, message)
    return replace(doc, fields.name, new_name[len(prefix) :], KIND)


def _plan_digest(doc: Doc, fields: Fields, digest: str) -> list[Change]:
    assert fields.digest is not None
    if not fields.sha or not digest:  # "": unpin (a revert to a tag)
        return replace(doc, fields.digest, digest, KIND)
    if not digest.startswith(_SHA256):
        raise refuse(doc, fields.digest, f"a `sha` key holds a sha256 hex; {digest!r} is not one")
    return replace(doc, fields.digest, digest[len(_SHA256) :], KIND)


def _check_pin(doc: Doc, fields: Fields, bump: Bump) -> None:
    """A tag-only bump must not change the tag of a block pinned by a (non-empty) digest."""
    pin = fields.digest_value
    if bump.digest is not None or bump.tag is None or pin is None or fields.digest is None:
        return
    if fields.tag is None or fields.tag.value != bump.tag:
        raise pinned(doc, fields.digest, pin)


def plan_block(doc: Doc, visit: Visit, fields: Fields, bump: Bump) -> list[Change]:
    changes: list[Change] = []
    tag, digest = fields.tag, fields.digest
    if bump.new_name:
        changes += _plan_name(doc, fields, bump)
    if bump.tag is not None:
        if tag is not None:
            changes += replace(doc, tag, bump.tag, KIND)
        elif bump.digest is None or digest is None:
            changes += insert_key(doc, visit, "tag", bump.tag, KIND)
    if bump.digest is not None:
        if digest is not None:
            changes += _plan_digest(doc, fields, bump.digest)
        elif bump.tag is None:
            raise refuse(doc, fields.name, "has no digest field to set")
    _check_pin(doc, fields, bump)
    return changes


def _block_site(doc: Doc, visit: Visit, fields: Fields) -> Site:
    image = fields.image()
    anchor = fields.tag or fields.digest or fields.name

    def planner(bump: Bump) -> list[Change]:
        return plan_block(doc, visit, fields, bump)

    return Site(KIND, doc, anchor, image, (image.repository,), planner)


# Every block holds one of these keys (a repository, or a tag/digest beside a name).
_NEEDED_KEYS = frozenset({"repository", "tag", "digest", "sha"})


def find(doc: Doc) -> list[Site]:
    sites: list[Site] = []
    siblings: set[int] = set()  # `image` strings that belong to a block of their mapping
    visits = doc.visits
    candidates = {id(v.parent) for v in visits if v.key in _NEEDED_KEYS}  # blocks, maybe
    for visit in visits:  # every node: the checks below are inlined, cheapest first
        key, kind = visit.key, visit.node.id
        if key is not None and key.endswith(_IMAGE_SUFFIXES) and (kind == "scalar" or visit.alias):
            if visit.parent is not None and id(visit.parent) in siblings:
                continue
            found = slot(doc, visit)
            if found is not None and looks_like_image(found.value):
                sites.append(ref_site(KIND, doc, found))
            continue
        if id(visit) not in candidates:
            continue
        fields = block_fields(doc, visit)
        if fields is not None:
            sites.append(_block_site(doc, visit, fields))
            if fields.name.path.endswith(".image") or fields.name.path == "image":
                siblings.add(id(visit))
    return sites
