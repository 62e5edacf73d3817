"""Release Train: scheduled, gated, stage-by-stage releases on GitHub, audited in Git."""

from __future__ import annotations

__version__ = "0.1.0"
