"""Failing checks in a row: how many an SLO has failed for a service, before a revert.

Pure. Each check of a soaking stage judges every (SLO, service); `count` folds the verdicts
into the step's streaks (kept in the promotion step state in the ledger, like
`unsure_since`): a ``fail`` adds one, unless the last counted one is closer than the SLO's
`interval` (checks that close count once); a ``pass`` ends the streak; ``inconclusive`` and
``error`` leave it as it is (missing data neither proves nor disproves a breach). A streak
that reaches the SLO's `failure_limit` reverts (`bot.core.slo.hold.stage_action`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.config.model import SLO
from bot.core.slo.answers import Verdict
from bot.core.slo.judge import SLOResult


@dataclass(frozen=True)
class Streak:
    """`count` failing checks in a row of `slo` for `service`, the last counted at `last`."""

    slo: str
    service: str
    count: int
    last: datetime

    def to_json(self) -> list[object]:
        return [self.slo, self.service, self.count, self.last.isoformat()]

    @classmethod
    def from_json(cls, raw: list[object]) -> Streak:
        slo, service, count, last = raw
        return cls(str(slo), str(service), int(str(count)), datetime.fromisoformat(str(last)))


def _next(prev: Streak | None, result: SLOResult, slo: SLO, now: datetime) -> Streak | None:
    if result.verdict == Verdict.PASS:
        return None
    if result.verdict != Verdict.FAIL:
        return prev
    if prev is None:
        return Streak(result.slo, result.service, 1, now)
    if now <= prev.last or now - prev.last < slo.interval:
        return prev  # the same check read again (a retried round) never counts twice
    return Streak(result.slo, result.service, prev.count + 1, now)


def count(
    streaks: Iterable[Streak],
    results: Iterable[SLOResult],
    slos: Mapping[str, SLO],
    now: datetime,
) -> tuple[Streak, ...]:
    """The streaks after this check's `results` (observe-only SLOs never count; an SLO not
    judged this time keeps its streak)."""
    by_key = {(s.slo, s.service): s for s in streaks}
    for result in results:
        slo = slos.get(result.slo)
        if slo is None or result.observe:
            continue
        key = (result.slo, result.service)
        after = _next(by_key.get(key), result, slo, now)
        if after is None:
            by_key.pop(key, None)
        else:
            by_key[key] = after
    return tuple(by_key[k] for k in sorted(by_key))


def reached(streak: Streak | None, slo: SLO) -> bool:
    return streak is not None and streak.count >= max(1, slo.failure_limit)


def failing_text(streaks: Iterable[Streak], slos: Mapping[str, SLO]) -> str:
    """`checkout/api failing 1 of 3 checks in a row`, for each streak under its limit."""
    return "; ".join(
        f"{s.slo}/{s.service} failing {s.count} of {slos[s.slo].failure_limit} checks in a row"
        for s in streaks
        if s.slo in slos and not reached(s, slos[s.slo])
    )
