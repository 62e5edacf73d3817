"""GitHub's organic secondary limit on content creation, when configured.

GitHub limits how fast one identity creates content (issues, comments, pull requests,
reviews, releases): past it, a ``POST`` answers 403 "You have exceeded a secondary rate
limit and have been temporarily blocked from content creation. Please retry your request
again later." with ``Retry-After`` (docs: "Rate limits for the REST API", secondary rate
limits: "no more than 80 content-generating requests per minute"). The sandbox counts each
identity's content-creating requests over a sliding window (``content_per_minute``
requests per ``content_window_s`` seconds; default off) and answers the same way, with
``Retry-After`` the seconds until the oldest one leaves the window. A refused request
creates nothing and is not counted.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections import deque
from typing import Any

from bot.sandbox.http import ApiError, RequestContext
from bot.sandbox.rules import state

MESSAGE = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content "
    "creation. Please retry your request again later."
)
_REPO = r"/repos/[^/]+/[^/]+"
CREATES = re.compile(
    _REPO + r"/(issues|issues/\d+/comments|pulls|pulls/\d+/(comments|reviews)"
    r"|releases|commits/[0-9a-f]+/comments)"
)
_SEEN: weakref.WeakKeyDictionary[Any, dict[str, deque[float]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def creates_content(method: str, path: str) -> bool:
    return method == "POST" and CREATES.fullmatch(path) is not None


def check(ctx: RequestContext) -> None:
    """Count a content-creating request against its identity's window; 403 past it."""
    settings = state.settings(ctx.store)
    limit = int(settings.get("content_per_minute") or 0)
    if limit <= 0 or not creates_content(ctx.method, ctx.path):
        return
    window = float(settings.get("content_window_s") or 60.0)
    now = ctx.clock().timestamp()
    who = str(ctx.installation_id) if ctx.installation_id is not None else ""
    who = who or (ctx.user.login if ctx.user else "anonymous")
    with _LOCK:
        seen = _SEEN.setdefault(ctx.store, {}).setdefault(who, deque())
        while seen and now - seen[0] >= window:
            seen.popleft()
        if len(seen) < limit:
            seen.append(now)
            return
        wait = max(1, math.ceil(seen[0] + window - now))
    raise ApiError(403, MESSAGE, headers={"Retry-After": str(wait)})
