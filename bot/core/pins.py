"""What a promotion writes for one service, as one string (pure).

A train's target per service (`Promotion.tags`, the bump lines, the deployments' payload)
is one string: ``tag`` (pinned by tag), ``tag@sha256:…`` (pinned by digest: the artifact
set's, `bot.core.artifacts.Artifact.target`), or ``tag@`` — a tag and *no* digest: what a
revert writes back where the train's bump added a digest the file did not have (the
updaters then drop the ``@sha256:…`` of a reference, or empty a `digest` key).
"""

from __future__ import annotations

from bot.core.manifests import Bump


def split(value: str) -> tuple[str | None, str | None]:
    """(tag, digest) of a target: None where the value says nothing, "" for "no digest"."""
    tag, at, digest = value.partition("@")
    return (tag or None), (digest if at else None)


def bump(image: str, value: str) -> Bump:
    """The manifest bump that writes `value` for `image`."""
    tag, digest = split(value)
    return Bump(image, tag=tag, digest=digest)


def site_value(tag: str | None, digest: str | None, new: str) -> str:
    """What a file held, as a target a revert can write back: its digest too when it had
    one; ``tag@`` when it had none but `new` pins one (the revert removes it)."""
    if digest:
        return f"{tag or ''}@{digest}"
    pins_new = bool(split(new)[1])
    return f"{tag}@" if tag and pins_new else (tag or "")
