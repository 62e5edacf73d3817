"""Which YAML documents are deployable, i.e. what the updaters edit by default.

Deployable: Kubernetes objects that carry a pod spec (core, apps, batch, Argo Rollouts and any
other kind with a ``containers`` list), kustomizations, Argo CD Application/ApplicationSet,
Flux HelmRelease/Kustomization, and plain mappings without ``apiVersion`` (Helm values).
Not deployable: build and CI configuration (skaffold, GitHub Actions, GitLab CI, Cloud Build,
CircleCI, Drone, Tekton, docker compose), Kargo, Argo Workflows and other objects without a
pod spec. Those are edited only through a configured YAML path or with `any_kind`.
"""

from __future__ import annotations

import re

from bot.core.manifests.locate import Doc, get, is_mapping, is_scalar, is_sequence, items
from bot.core.manifests.workloads import CONTAINER_KEYS

_ALWAYS = frozenset(
    {
        ("kustomize.config.k8s.io", "Kustomization"),
        ("kustomize.config.k8s.io", "Component"),
        ("kustomize.toolkit.fluxcd.io", "Kustomization"),
        ("helm.toolkit.fluxcd.io", "HelmRelease"),
        ("argoproj.io", "Application"),
        ("argoproj.io", "ApplicationSet"),
        ("argoproj.io", "Rollout"),
    }
)
# Groups whose objects are never deployments, whatever they hold.
_NEVER_GROUPS = ("skaffold", "kargo.akuity.io", "tekton.dev", "argoproj.io", "cloudbuild")
# File names of build, CI and local-run configuration.
_NEVER_FILES = re.compile(
    r"(^|/)(\.gitlab-ci\.ya?ml|\.drone\.ya?ml|\.travis\.ya?ml|bitbucket-pipelines\.ya?ml"
    r"|azure-pipelines\.ya?ml|cloudbuild\.ya?ml|skaffold[^/]*\.ya?ml"
    r"|(docker-)?compose[^/]*\.ya?ml|\.github/workflows/[^/]+|\.circleci/[^/]+)$"
)


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _has_pod_spec(doc: Doc) -> bool:
    return any(v.key in CONTAINER_KEYS and is_sequence(v.node) for v in doc.visits)


def _looks_like_ci(doc: Doc) -> bool:
    """GitHub Actions / CircleCI (`jobs` with `on` or `workflows`), GitLab CI
    (`stages`: a list of names), Cloud Build (`steps`: named builder steps), Drone."""
    root = doc.root
    if not is_mapping(root):
        return False
    if doc.root_value("kind") == "pipeline":
        return True
    keys = {key for key, _, _ in items(root)}
    if "jobs" in keys and keys & {"on", "workflows"}:
        return True
    stages, steps = get(root, "stages"), get(root, "steps")
    if is_sequence(stages) and stages.value and all(is_scalar(n) for n in stages.value):
        return True
    return (
        is_sequence(steps)
        and bool(steps.value)
        and all(is_mapping(n) and get(n, "name") is not None for n in steps.value)
    )


def deployable(doc: Doc) -> bool:
    """Whether the updaters edit this document by default (worked out once per document)."""
    found = doc.memo.get("deployable")
    if found is None:
        found = doc.memo["deployable"] = _deployable(doc)
    return bool(found)


def _deployable(doc: Doc) -> bool:
    if _NEVER_FILES.search(doc.filename.replace("\\", "/")):
        return False
    api_version, kind = doc.root_value("apiVersion"), doc.root_value("kind")
    if not api_version or not kind:
        return not _looks_like_ci(doc)
    group = _group(str(api_version))
    if (group, kind) in _ALWAYS:
        return True
    if any(group == g or group.endswith("." + g) for g in _NEVER_GROUPS):
        return False
    return _has_pod_spec(doc)
