"""Argo CD ``Application`` / ``ApplicationSet`` sources.

- ``helm.parameters``: items ``{name: <p>.repository, value: ...}`` with sibling ``<p>.tag`` /
  ``<p>.digest`` items form one site (``image.repository`` + ``image.tag``, or nested ones such
  as ``checkout.image.tag``); a parameter named ``image`` / ``<p>.image`` holding a whole
  reference is bumped like a container image.
- ``kustomize.images``: strings in ``kustomize edit set image`` form, ``[name=]ref``.

``helm.valuesObject`` is plain Helm values and is handled by the Helm updater.
"""

from __future__ import annotations

from bot.core.manifests.image import ImageRef, looks_like_image
from bot.core.manifests.locate import Doc, Slot, Visit, get, is_scalar, is_sequence, slot
from bot.core.manifests.model import Bump
from bot.core.manifests.plan import Change, Site, check_pin, ref_site, refuse, replace

KIND = "argocd"


def _is_argo(doc: Doc) -> bool:
    return (doc.root_value("apiVersion") or "").startswith("argoproj.io/")


def _params(doc: Doc, visit: Visit) -> dict[str, Slot]:
    """Parameter name -> the slot of its value."""
    found: dict[str, Slot] = {}
    for item in doc.children(visit):
        name = get(item.node, "name")
        value = doc.child(item, "value")
        if item.alias or not is_scalar(name) or value is None:
            continue
        located = slot(doc, value)
        if located is not None:
            found.setdefault(str(name.value), located)
    return found


def _plan_params(doc: Doc, fields: dict[str, Slot], bump: Bump) -> list[Change]:
    repo, tag, digest = fields["repository"], fields.get("tag"), fields.get("digest")
    changes: list[Change] = []
    if bump.new_name:
        changes += replace(doc, repo, bump.new_name, KIND)
    if bump.tag is not None:
        if tag is None and (bump.digest is None or digest is None):
            raise refuse(doc, repo, "has no matching .tag parameter to set")
        if tag is not None:
            changes += replace(doc, tag, bump.tag, KIND)
    if bump.digest is not None:
        if digest is None and tag is None:
            raise refuse(doc, repo, "has no matching .digest parameter to set")
        if digest is not None:
            changes += replace(doc, digest, bump.digest, KIND)
    check_pin(doc, tag, digest, bump)
    return changes


def _param_sites(doc: Doc, visit: Visit) -> list[Site]:
    params = _params(doc, visit)
    sites: list[Site] = []
    for name, located in params.items():
        if name == "image" or name.endswith(".image"):
            if looks_like_image(located.value):
                sites.append(ref_site(KIND, doc, located))
            continue
        if name != "repository" and not name.endswith(".repository"):
            continue
        prefix = name[: -len("repository")]
        fields = {"repository": located}
        for part in ("tag", "digest"):
            if prefix + part in params:
                fields[part] = params[prefix + part]
        tag, digest = fields.get("tag"), fields.get("digest")
        image = ImageRef(
            located.value,
            tag.value or None if tag else None,
            digest.value or None if digest else None,
        )

        def planner(bump: Bump, fields: dict[str, Slot] = fields) -> list[Change]:
            return _plan_params(doc, fields, bump)

        sites.append(Site(KIND, doc, tag or digest or located, image, (located.value,), planner))
    return sites


def _image_sites(doc: Doc, visit: Visit) -> list[Site]:
    sites: list[Site] = []
    for item in doc.children(visit):
        located = slot(doc, item)
        if located is None or not located.value:
            continue
        name, eq, rest = located.value.partition("=")
        prefix = f"{name}=" if eq else ""
        if looks_like_image(rest if eq else located.value):
            sites.append(ref_site(KIND, doc, located, prefix))
    return sites


def find(doc: Doc) -> list[Site]:
    if not _is_argo(doc):
        return []
    sites: list[Site] = []
    for visit in doc.visits:
        if visit.alias or not is_sequence(visit.node):
            continue
        if visit.key == "parameters" and visit.parent_key == "helm":
            sites += _param_sites(doc, visit)
        elif visit.key == "images" and visit.parent_key == "kustomize":
            sites += _image_sites(doc, visit)
    return sites
