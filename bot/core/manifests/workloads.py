"""Kubernetes workloads: the ``image`` of containers, initContainers and ephemeralContainers.

Wherever a pod spec sits (Deployment/StatefulSet/DaemonSet/Job ``spec.template``, CronJob
``spec.jobTemplate.spec.template``, a bare Pod, a List), the image string keeps its registry
and name; only the tag and/or digest (or, with a new name, the repository) change.
"""

from __future__ import annotations

from bot.core.manifests.locate import Doc, Visit, slot
from bot.core.manifests.plan import Site, ref_site

CONTAINER_KEYS = frozenset({"containers", "initContainers", "ephemeralContainers"})


def is_container_image(visit: Visit) -> bool:
    """An ``image`` entry of an item of a containers-like list."""
    item = visit.parent
    if visit.key != "image" or item is None or item.key is not None:
        return False
    return item.parent is not None and item.parent.key in CONTAINER_KEYS


def find(doc: Doc) -> list[Site]:
    sites = []
    for visit in doc.visits:
        if visit.key != "image" or not is_container_image(visit):  # the cheap test first
            continue
        found = slot(doc, visit)
        if found is not None and found.value:
            sites.append(ref_site("workload", doc, found))
    return sites
