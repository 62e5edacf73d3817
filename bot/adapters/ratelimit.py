"""GitHub's rate limits, remembered per installation (or token) across clients.

GitHub's rules (docs: "Rate limits for the REST API", and githubkit's `_check_rate_limit`,
which follows octokit's throttling plugin), as the pure `classify` reads them:

- a 403/429 with ``Retry-After`` is a *secondary* limit: wait that many seconds;
- a 403/429 with ``X-RateLimit-Remaining: 0`` is the *primary* limit (or a secondary one,
  when the message says so): make no request before ``X-RateLimit-Reset``;
- a 403/429 whose message names a secondary limit, without either header: wait a minute.

Every response's ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` is remembered too
(`Budget`): when fewer than `low_water` requests remain, requests are spread evenly over
what is left of the window instead of spending the rest at once (`pause`).

`RateLimiter` is the stateful side, shared by every `GitHubClient` of an installation
(`limiter_for`), so a worker thread, the scheduler and the CLI in one process all know the
reset. Before each request `acquire()` sleeps out a short wait, or raises `RateLimited`
when the wait is longer than `max_wait`: the webhook worker turns that into a retry at
the reset (`bot.transports.worker`) instead of blocking a thread, and the CLI exits 3.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import Inconclusive

DEFAULT_MAX_WAIT = 60.0  # longer than this: defer (RateLimited), never block a thread
DEFAULT_LOW_WATER = 100  # fewer requests left than this: spread them over the window
NO_HINT_WAIT = 60.0  # GitHub: without a header, "wait for at least one minute"
MARGIN = 1.0  # X-RateLimit-Reset is whole seconds: ask a second after it


@dataclass(frozen=True)
class Refusal:
    """A request GitHub refused for a rate limit: nothing before `until` (epoch seconds)."""

    kind: str  # "primary" or "secondary"
    until: float


@dataclass(frozen=True)
class Budget:
    """What the last response said of the primary window."""

    remaining: int
    reset: float  # epoch seconds


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def budget_of(headers: Mapping[str, str]) -> Budget | None:
    """The primary window from ``X-RateLimit-*`` headers (keys lower-case), if both are there."""
    remaining = _number(headers.get("x-ratelimit-remaining"))
    reset = _number(headers.get("x-ratelimit-reset"))
    if remaining is None or reset is None:
        return None
    return Budget(int(remaining), reset)


def classify(status: int, headers: Mapping[str, str], message: str, now: float) -> Refusal | None:
    """Whether an answer is a rate-limit refusal and until when; None when it is not.
    `headers` keys are lower-case; `message` is the error body's ``message``."""
    if status not in (403, 429):
        return None
    secondary = "secondary rate" in message.lower()
    retry_after = _number(headers.get("retry-after"))
    if retry_after is not None:
        return Refusal("secondary", now + max(retry_after, 0.0))
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _number(headers.get("x-ratelimit-reset"))
        until = reset + MARGIN if reset is not None else now + NO_HINT_WAIT
        return Refusal("secondary" if secondary else "primary", max(until, now))
    if secondary or status == 429:
        return Refusal("secondary", now + NO_HINT_WAIT)
    return None


def exhausted_until(budget: Budget | None, now: float) -> float | None:
    """When the primary budget is spent: the epoch second to wait for; else None."""
    if budget is None or budget.remaining > 0 or budget.reset <= now:
        return None
    return budget.reset + MARGIN


def pace_interval(budget: Budget | None, now: float, low_water: int) -> float:
    """Seconds between requests so a low budget lasts to its reset (0: no pacing needed)."""
    if budget is None or budget.reset <= now or not 0 < budget.remaining < low_water:
        return 0.0
    return (budget.reset - now) / (budget.remaining + 1)


def pause(until: tuple[float | None, ...], next_slot: float, now: float) -> float:
    """Seconds to wait before the next request: out every refusal, and up to a paced slot."""
    return max(0.0, next_slot - now, *((u - now) for u in until if u is not None))


class RateLimited(Inconclusive):
    """GitHub's rate limit forbids any request for longer than the client may wait:
    try again at `retry_at` (epoch seconds), i.e. in `retry_in` seconds."""

    def __init__(self, kind: str, retry_at: float, retry_in: float) -> None:
        self.kind = kind
        self.retry_at = retry_at
        self.retry_in = retry_in
        at = datetime.fromtimestamp(retry_at, UTC).strftime("%H:%M:%S UTC")
        super().__init__(
            f"GitHub {kind} rate limit: no request before {at} (in {retry_in:.0f}s); try again then"
        )


class RateLimiter:
    """The rate-limit memory of one installation (thread-safe). `clock` is wall-clock epoch
    seconds (GitHub's reset is epoch); `sleep` and `clock` are injected for tests."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = DEFAULT_MAX_WAIT,
        low_water: int = DEFAULT_LOW_WATER,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self.low_water = low_water
        self.refused = 0  # rate-limit refusals seen
        self.waited = 0.0  # seconds slept before requests
        self._lock = threading.Lock()
        self._blocked: Refusal | None = None
        self._budget: Budget | None = None
        self._next_slot = 0.0

    def acquire(self) -> None:
        """Wait until a request may be sent, or raise `RateLimited` if that is too long."""
        with self._lock:
            now = self.clock()
            blocked, budget = self._blocked, self._budget
            until = blocked.until if blocked is not None else None
            spent = exhausted_until(budget, now)
            interval = pace_interval(budget, now, self.low_water)
            slot = max(now, self._next_slot) if interval else now
            wait = pause((until, spent), slot, now)
            if wait > self.max_wait:
                refused = until is not None and until - now >= wait
                kind = blocked.kind if refused and blocked is not None else "primary"
                raise RateLimited(kind, now + wait, wait)
            if interval:
                self._next_slot = now + wait + interval
            self.waited += wait
        if wait > 0:
            self.sleep(wait)
            with self._lock:  # waited it out (a test's clock may not have moved)
                if self._blocked is blocked:
                    self._blocked = None
                if spent is not None and self._budget is budget:
                    self._budget = None

    def observe(self, status: int, headers: Mapping[str, str], message: str = "") -> Refusal | None:
        """Remember what an answer says of the limits; the refusal if it was one (then the
        request was not carried out and may be sent again after `acquire`)."""
        lowered = {k.lower(): v for k, v in headers.items()}
        now = self.clock()
        refusal = classify(status, lowered, message, now)
        budget = budget_of(lowered)
        with self._lock:
            if budget is not None:
                self._budget = budget
            if refusal is not None:
                self.refused += 1
                if self._blocked is None or self._blocked.until < refusal.until:
                    self._blocked = refusal
        return refusal

    def blocked_until(self) -> float | None:
        """The epoch second before which no request is sent, if any."""
        with self._lock:
            blocked = self._blocked
        return blocked.until if blocked is not None and blocked.until > self.clock() else None


_REGISTRY: dict[str, RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(api_url: str, credential: str) -> RateLimiter:
    """The process-wide limiter of one API and installation (or token). The credential is
    hashed: the registry never holds a token."""
    digest = hashlib.sha256(credential.encode("utf-8")).hexdigest()[:24]
    key = f"{api_url.rstrip('/')}|{digest}"
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = _REGISTRY[key] = RateLimiter()
        return limiter
