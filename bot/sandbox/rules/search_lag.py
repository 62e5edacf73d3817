"""Search index lag: on GitHub a change reaches ``/search/issues`` seconds after it is made.

With the sandbox setting ``search_lag_s`` above 0, search answers each issue or pull request
as it was when last indexed: a change is indexed `search_lag_s` seconds (on the sandbox's
clock, `Server.clock`, which tests may set) after the sandbox first notices it — a new item
`search_lag_s` after it was created. So a PR labelled a moment ago is missing, and an
approval withdrawn a moment ago still matches ``review:approved``. With 0 (the default)
search is synchronous, as before.

`search_per_minute` (default 0: unlimited) is GitHub's separate search rate limit (30 a
minute for an authenticated caller): past it, 403 "API rate limit exceeded" with
``X-RateLimit-Resource: search`` until the minute ends.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.sandbox.http import ApiError, RequestContext
from bot.sandbox.rules import state

T = TypeVar("T")


@dataclass
class _Entry:
    indexed: Any  # what search sees (None: not yet indexed)
    latest: Any  # the newest version noticed
    due: datetime  # when `latest` becomes what search sees


_INDEX: weakref.WeakKeyDictionary[Any, dict[str, _Entry]] = weakref.WeakKeyDictionary()
_SEARCHES: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, int]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def lag(ctx: RequestContext) -> timedelta:
    return timedelta(seconds=float(state.settings(ctx.store).get("search_lag_s") or 0))


def seen(ctx: RequestContext, key: str, created_at: str, value: T) -> T | None:
    """What the index holds for `key` now (None: not yet searchable); `value` is the item's
    present version (compared by value)."""
    delay = lag(ctx)
    now = ctx.clock()
    if delay <= timedelta(0):
        return value
    with _LOCK:
        index = _INDEX.setdefault(ctx.store, {})
        entry = index.get(key)
        if entry is None:
            born = _parse(created_at) or now
            entry = index[key] = _Entry(None, value, born + delay)
        elif value != entry.latest:
            if entry.due <= now:
                entry.indexed = entry.latest
            entry.latest, entry.due = value, now + delay
        if entry.due <= now:
            entry.indexed = entry.latest
        indexed: T | None = entry.indexed
        return indexed


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def check_rate(ctx: RequestContext) -> None:
    """Count a search against the caller's minute; 403 past `search_per_minute`."""
    limit = int(state.settings(ctx.store).get("search_per_minute") or 0)
    if limit <= 0:
        return
    minute = int(ctx.clock().timestamp()) // 60
    who = ctx.token or (ctx.user.login if ctx.user else "anonymous")
    with _LOCK:
        counts = _SEARCHES.setdefault(ctx.store, {})
        at, used = counts.get(who, (minute, 0))
        used = used + 1 if at == minute else 1
        counts[who] = (minute, used)
    if used > limit:
        raise ApiError(
            403,
            "API rate limit exceeded for search.",
            headers={
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str((minute + 1) * 60),
                "X-RateLimit-Used": str(used),
                "X-RateLimit-Resource": "search",
            },
        )
