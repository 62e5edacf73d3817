"""Kustomize ``images:`` entries (``name``, ``newName``, ``newTag``, ``digest``).

Covers ``kustomization.yaml`` / Components at the document root and Flux ``Kustomization``
``spec.images``. An entry answers to its ``name`` and to its ``newName``; a missing
``newTag`` / ``digest`` / ``newName`` is added as a new line in the entry.
"""

from __future__ import annotations

from bot.core.manifests.image import ImageRef
from bot.core.manifests.locate import Doc, Slot, Visit, is_mapping, is_scalar, is_sequence, slot
from bot.core.manifests.model import Bump
from bot.core.manifests.plan import Change, Site, check_pin, insert_key, refuse, replace

KIND = "kustomize"
FIELDS = ("name", "newName", "newTag", "digest")


def _is_images_list(visit: Visit) -> bool:
    if visit.key != "images" or visit.alias or not is_sequence(visit.node):
        return False
    parent = visit.parent
    at_root = parent is not None and parent.parent is None
    under_spec = parent is not None and parent.key == "spec" and parent.parent is not None
    return at_root or (under_spec and parent.parent.parent is None)  # type: ignore[union-attr]


def _set(doc: Doc, entry: Visit, fields: dict[str, Slot], key: str, value: str) -> list[Change]:
    if key in fields:
        return replace(doc, fields[key], value, KIND)
    return insert_key(doc, entry, key, value, KIND)


def _plan(doc: Doc, entry: Visit, fields: dict[str, Slot], bump: Bump) -> list[Change]:
    changes: list[Change] = []
    if bump.new_name:
        changes += _set(doc, entry, fields, "newName", bump.new_name)
    if bump.tag is not None:
        changes += _set(doc, entry, fields, "newTag", bump.tag)
    if bump.digest is not None and (bump.digest or "digest" in fields):  # "": unpin
        changes += _set(doc, entry, fields, "digest", bump.digest)
    check_pin(doc, fields.get("newTag"), fields.get("digest"), bump)
    return changes


def _entry_site(doc: Doc, entry: Visit) -> Site | None:
    fields: dict[str, Slot] = {}
    for key in FIELDS:
        kid = doc.child(entry, key)
        found = slot(doc, kid) if kid is not None else None
        if found is not None:
            fields[key] = found
    name = fields.get("name")
    if name is None or not name.value:
        return None
    new_name = fields.get("newName")
    effective = new_name.value if new_name is not None and new_name.value else name.value
    tag, digest = fields.get("newTag"), fields.get("digest")
    image = ImageRef(effective, tag.value if tag else None, digest.value if digest else None)
    anchor = tag or digest or name

    def planner(bump: Bump) -> list[Change]:
        if name.style == "*":
            raise refuse(doc, name, "the image name is an alias; refusing to guess")
        return _plan(doc, entry, fields, bump)

    names = (name.value, new_name.value) if new_name is not None else (name.value,)
    return Site(KIND, doc, anchor, image, names, planner)


def _images_lists(doc: Doc) -> list[Visit]:
    """``images`` at the root, or under a root ``spec`` (Flux Kustomization)."""
    found = [doc.child(doc.top, "images")]
    spec = doc.child(doc.top, "spec")
    if spec is not None and not spec.alias:
        found.append(doc.child(spec, "images"))
    return [visit for visit in found if visit is not None and _is_images_list(visit)]


def find(doc: Doc) -> list[Site]:
    sites: list[Site] = []
    for visit in _images_lists(doc):
        for entry in doc.children(visit):
            if entry.alias or not is_mapping(entry.node):
                continue
            name = doc.child(entry, "name")
            if name is None or not is_scalar(name.node):
                continue
            site = _entry_site(doc, entry)
            if site is not None:
                sites.append(site)
    return sites
