"""Helm values: ``image.repository`` + ``image.tag`` / ``image.digest`` blocks and image strings.

A block is any mapping with a ``repository`` and a ``tag`` or ``digest`` (or any mapping under
an ``image`` key with a ``repository``) at any depth, so nested per-service blocks such as
``checkout.image.tag`` and HelmRelease/Application ``values`` are covered. An optional
``registry`` key is joined in front of the repository. Any other ``image: repo:tag`` string
is bumped like a container image.
"""

from __future__ import annotations

from bot.core.manifests.image import ImageRef, looks_like_image
from bot.core.manifests.locate import Doc, Slot, Visit, get, is_mapping, is_scalar, slot
from bot.core.manifests.model import Bump
from bot.core.manifests.plan import Change, Site, check_pin, insert_key, ref_site, refuse, replace

KIND = "helm"


def _is_block(doc: Doc, visit: Visit) -> bool:
    node = visit.node
    if visit.alias or not is_mapping(node) or not is_scalar(get(node, "repository")):
        return False
    return visit.key == "image" or get(node, "tag") is not None or get(node, "digest") is not None


def _value(found: Slot | None) -> str | None:
    return found.value or None if found is not None else None


def _plan_name(doc: Doc, fields: dict[str, Slot], bump: Bump) -> list[Change]:
    repo = fields["repository"]
    new_name = bump.new_name or ""
    registry = fields.get("registry")
    if registry is None or not registry.value:
        return replace(doc, repo, new_name, KIND)
    prefix = registry.value.rstrip("/") + "/"
    if not new_name.startswith(prefix):
        raise refuse(doc, repo, f"new name {new_name!r} is not under registry {registry.value!r}")
    return replace(doc, repo, new_name[len(prefix) :], KIND)


def _plan_block(doc: Doc, visit: Visit, fields: dict[str, Slot], bump: Bump) -> list[Change]:
    changes: list[Change] = []
    tag, digest = fields.get("tag"), fields.get("digest")
    if bump.new_name:
        changes += _plan_name(doc, fields, bump)
    if bump.tag is not None:
        if tag is not None:
            changes += replace(doc, tag, bump.tag, KIND)
        elif bump.digest is None or digest is None:
            changes += insert_key(doc, visit, "tag", bump.tag, KIND)
    if bump.digest is not None:
        if digest is not None:
            changes += replace(doc, digest, bump.digest, KIND)
        elif bump.tag is None:
            raise refuse(doc, fields["repository"], "has no digest field to set")
    check_pin(doc, tag, digest, bump)
    return changes


def _block_site(doc: Doc, visit: Visit) -> Site | None:
    fields: dict[str, Slot] = {}
    for key in ("registry", "repository", "tag", "digest"):
        kid = doc.child(visit, key)
        found = slot(doc, kid) if kid is not None else None
        if found is not None:
            fields[key] = found
    repo = fields.get("repository")
    if repo is None:
        return None
    registry = _value(fields.get("registry"))
    full = f"{registry.rstrip('/')}/{repo.value}" if registry else repo.value
    image = ImageRef(full, _value(fields.get("tag")), _value(fields.get("digest")))
    anchor = fields.get("tag") or fields.get("digest") or repo

    def planner(bump: Bump) -> list[Change]:
        return _plan_block(doc, visit, fields, bump)

    return Site(KIND, doc, anchor, image, (full,), planner)


def find(doc: Doc) -> list[Site]:
    sites: list[Site] = []
    for visit in doc.visits:
        if visit.key == "image" and (is_scalar(visit.node) or visit.alias):
            found = slot(doc, visit)
            if found is not None and looks_like_image(found.value):
                sites.append(ref_site(KIND, doc, found))
        elif _is_block(doc, visit):
            site = _block_site(doc, visit)
            if site is not None:
                sites.append(site)
    return sites
