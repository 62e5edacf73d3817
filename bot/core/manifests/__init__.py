"""Byte-exact manifest updaters: find an image's tag or digest with ruamel.yaml and rewrite
only that scalar's characters in the original text (kustomize, Helm values, Kubernetes
workloads, Argo CD Applications, configured YAML paths)."""

from __future__ import annotations

from bot.core.manifests.engine import bump_text, find_images, plan_many, plan_text, set_value
from bot.core.manifests.image import (
    ImageRef,
    format_image,
    normalize_repository,
    parse_image,
    same_repository,
)
from bot.core.manifests.model import Bump, BumpResult, Edit, ImageSite

__all__ = [
    "Bump",
    "BumpResult",
    "Edit",
    "ImageRef",
    "ImageSite",
    "bump_text",
    "find_images",
    "format_image",
    "normalize_repository",
    "parse_image",
    "plan_many",
    "plan_text",
    "same_repository",
    "set_value",
]
