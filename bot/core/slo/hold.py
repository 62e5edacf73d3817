"""What to do while an SLO stays `inconclusive` or `error`: hold, then what the config says.

Pure; the reconcile loop remembers when the stage first became unsure, and each SLO's
failing checks in a row (`bot.core.slo.streak`), and asks each tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.config.model import SLO
from bot.core.slo.judge import SLOResult, Verdict
from bot.core.slo.streak import Streak, count, reached

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
    streaks: Iterable[Streak] | None = None,
) -> str:
    """One tick's decision for a soaking stage: ``revert`` when a fail's streak of failing
    checks in a row (`streaks`, already counting this tick; None: this tick alone) reaches
    its SLO's `failure_limit`; while any SLO is unsure, the strongest of their
    `unsure_action`s (revert > abort > hold), where a fail under its limit holds as
    ``failing`` (the stage cannot complete on it); else ``ok``. Results of observe-only SLOs
    (`mode: observe`) are left out: shown, never acted on."""
    results = [r for r in results if not r.observe]  # observe-only SLOs never act
    by_name = {s.name: s for s in slos}
    if streaks is None:
        streaks = count((), results, by_name, now)
    keyed = {(s.slo, s.service): s for s in streaks}
    fails = [r for r in results if r.verdict == Verdict.FAIL]
    for r in fails:
        slo = by_name.get(r.slo)
        if slo is None or reached(keyed.get((r.slo, r.service)), slo):
            return "revert"
    unsure = [by_name[r.slo] for r in results if r.verdict in UNSURE and r.slo in by_name]
    since = unsure_since if unsure_since is not None else now
    actions = {unsure_action(slo, since, now) for slo in unsure}
    actions |= {"failing"} if fails else set()
    return next((a for a in ("revert", "abort", "failing", "hold") if a in actions), "ok")
