"""Labels are case-insensitive on GitHub: ``Train:Next`` names the label ``train:next``."""

from __future__ import annotations

from bot.sandbox.http import RequestContext


def canonical(ctx: RequestContext, repo: str, name: str) -> str:
    """The repository's existing label spelled as it was created, or `name` when new."""
    labels = ctx.store.data["labels"].get(repo, {})
    if name in labels:
        return name
    lowered = name.lower()
    return next((existing for existing in labels if existing.lower() == lowered), name)
