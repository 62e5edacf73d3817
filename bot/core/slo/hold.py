"""What to do while an SLO stays `inconclusive` or `error`: hold, then what the config says.

Pure; the reconcile loop remembers when the stage first became unsure and asks each tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.config.model import SLO
from bot.core.slo.judge import SLOResult, Verdict

UNSURE = (Verdict.INCONCLUSIVE, Verdict.ERROR)
ACTIONS = ("hold", "abort", "revert")


def unsure_action(slo: SLO, unsure_since: datetime, now: datetime) -> str:
    """``hold`` until `slo.inconclusive_after` has passed since `unsure_since`, then
    `slo.on_inconclusive` (``hold``, ``abort`` or ``revert``). Never ``promote``."""
    if slo.inconclusive_after is None or now - unsure_since < slo.inconclusive_after:
        return "hold"
    return slo.on_inconclusive if slo.on_inconclusive in ACTIONS else "hold"


def stage_action(
    results: Iterable[SLOResult],
    slos: Iterable[SLO],
    unsure_since: datetime | None,
    now: datetime,
) -> str:
    """One tick's decision for a soaking stage: ``revert`` on any fail; while any SLO is
    unsure, the strongest of their `unsure_action`s (revert > abort > hold); else ``ok``.
    Results of observe-only SLOs (`mode: observe`) are left out: shown, never acted on."""
    results = [r for r in results if not r.observe]  # observe-only SLOs never act
    if any(r.verdict == Verdict.FAIL for r in results):
        return "revert"
    by_name = {s.name: s for s in slos}
    unsure = [by_name[r.slo] for r in results if r.verdict in UNSURE and r.slo in by_name]
    if not unsure:
        return "ok"
    since = unsure_since if unsure_since is not None else now
    actions = {unsure_action(slo, since, now) for slo in unsure}
    return next(a for a in ("revert", "abort", "hold") if a in actions)
