"""Flag debt (pure): which defined flags are expired, expiring soon, or have no owner.

The weekly report behind `release-train flags`: given the flags the repository defines, the
day (`today`, passed in) and a horizon, each flag with debt and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.flagfile import Flag

EXPIRED, EXPIRING, NO_OWNER, NO_EXPIRY = "expired", "expiring", "no owner", "no expiry"


@dataclass(frozen=True)
class Debt:
    flag: Flag
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        f = self.flag
        return {"name": f.name, "file": f.file, "line": f.line, "owner": f.owner,
                "expires": str(f.expires or ""), "reasons": list(self.reasons)}  # fmt: skip


def flag_debt(
    flags: Sequence[Flag], today: dt.date, within: dt.timedelta, *, need_expiry: bool = True
) -> list[Debt]:
    """Every flag with debt, most urgent (earliest expiry) first; ownerless ones without an
    expiry last. A flag expiring within `within` of `today` (inclusive) is `expiring`."""
    out = []
    for flag in flags:
        reasons = []
        if flag.expired(today):
            reasons.append(EXPIRED)
        elif flag.expires is not None and flag.expires <= today + within:
            reasons.append(EXPIRING)
        if not flag.owner:
            reasons.append(NO_OWNER)
        if need_expiry and flag.expires is None:
            reasons.append(NO_EXPIRY)
        if reasons:
            out.append(Debt(flag, tuple(reasons)))
    return sorted(out, key=lambda d: (d.flag.expires or dt.date.max, d.flag.file, d.flag.line))
