"""Branch protection, rulesets and the rules on a branch (see `bot.sandbox.rules`)."""

from __future__ import annotations

from bot.sandbox.rules.endpoints import routes

__all__ = ["routes"]
