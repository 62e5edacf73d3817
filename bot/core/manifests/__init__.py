"""Byte-exact manifest updaters: find an image's tag or digest with libyaml (ruamel.yaml when
libyaml refuses a text) and rewrite only that scalar's characters in the original text
(kustomize, Helm values and image-named keys, Kubernetes workloads, Argo CD Applications,
configured YAML paths). Only deployable documents are edited unless `any_kind` is given.

    from bot.core.manifests import Bump, bump_text, find_images, plan_many

    new_text, edits = bump_text(text, Bump("ghcr.io/acme/checkout", tag="1.5.0"),
                                filename="deploy/checkout.yaml")
    for edit in edits:
        print(edit.describe())  # deploy/checkout.yaml:10:18 spec...image: a:1.4 -> a:1.5.0

- `bump_text` / `plan_text`: one image; `plan_many`: several images, one parse and one splice.
  No edits means the image is not there or already at the target; `BumpResult.matched`
  tells the two apart (and carries the tags found before the bump).
- `BumpResult.unedited`: places that name the image but are not edited (inside a block
  scalar, or in a document that is not deployable), each with FILE:LINE:COL and why.
- `find_images`: every image site, e.g. "which tag is deployed now".
- `set_value`: set any YAML path to any string, byte-exactly.
- Errors are `ConfigError` with positioned `Problem`s: a text that does not parse, a value that
  is a block scalar or an alias, a tag-only bump of an image pinned by digest.
"""

from __future__ import annotations

from bot.core.manifests.engine import bump_text, find_images, plan_many, plan_text, set_value
from bot.core.manifests.image import (
    ImageRef,
    format_image,
    normalize_repository,
    parse_image,
    same_repository,
)
from bot.core.manifests.model import Bump, BumpResult, Edit, ImageSite, Unedited

__all__ = [
    "Bump",
    "BumpResult",
    "Edit",
    "ImageRef",
    "ImageSite",
    "Unedited",
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
