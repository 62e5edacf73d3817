"""Seeded, replayable fault injection for the sandbox: a `Server.before_request` hook.

`FaultPlan` says what may go wrong; `decide` (pure) says whether the n-th call to an
endpoint fails and how: each decision draws from ``random.Random(f"{seed}|{METHOD} {path}|{n}")``,
so replaying the same requests gives the same faults even when unrelated requests
interleave differently. `FaultInjector` applies the plan to live requests:

- 500/502/503: answered before the handler runs, so a faulted write is NOT applied;
- ``"after"``: the handler runs (the write IS applied), then 502 is answered, as GitHub
  sometimes does — the bot must be idempotent;
- ``"secondary_rate_limit"``: 403 (or 429) with ``Retry-After`` and GitHub's message;
- ``"timeout"``: the server sleeps past the client's read timeout, then closes the
  connection without answering (logged as 504 in the request log);
- primary exhaustion: from the n-th request on, 403 "API rate limit exceeded" with
  ``x-ratelimit-remaining: 0`` until ``x-ratelimit-reset``;
- latency: a sleep added to every request (or to matching ones).
"""

from __future__ import annotations

import contextlib
import fnmatch
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.http import DROP_HEADER, ApiError, RequestContext, Response

FaultKind = int | str
DEFAULT_KINDS: tuple[FaultKind, ...] = (500, 502, 503, "secondary_rate_limit", "timeout")
KNOWN_KINDS = frozenset({500, 502, 503, 504, "secondary_rate_limit", "timeout", "after"})

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
SECONDARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
PRIMARY_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
)
_SERVER_ERRORS = {
    500: "Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class FaultPlan:
    """What may go wrong. Patterns match ``"METHOD /path"`` or ``"/path"`` (fnmatch, so
    ``*`` crosses slashes: ``"PATCH /repos/*/git/refs/*"``); the first matching pattern's
    probability replaces `probability` for that request.

    `primary_exhaustion_after`: the primary limit runs out at that request (0-based count
    of all requests), for `primary_reset_s` seconds. `script` forces a kind on the n-th
    call of an endpoint: ``{("PUT /repos/o/r/pulls/1/merge", 0): "after"}``.
    """

    seed: int = 0
    probability: float = 0.0
    kinds: tuple[FaultKind, ...] = DEFAULT_KINDS
    per_endpoint: Mapping[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0
    latency_endpoints: tuple[str, ...] = ()
    timeout_s: float = 12.0
    retry_after_s: int = 1
    secondary_status: int = 403
    primary_exhaustion_after: int | None = None
    primary_reset_s: int = 2
    script: Mapping[tuple[str, int], FaultKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [k for k in (*self.kinds, *self.script.values()) if k not in KNOWN_KINDS]
        if unknown:
            raise ValueError(
                f"unknown fault kinds: {unknown}; known: {sorted(map(str, KNOWN_KINDS))}"
            )
        if self.secondary_status not in (403, 429):
            raise ValueError("secondary_status must be 403 or 429")
        chances = {"probability": self.probability, **self.per_endpoint}
        for name, chance in chances.items():
            if not _is_number(chance) or not 0 <= chance <= 1:
                raise ValueError(f"{name}: a probability must be a number from 0 to 1")
        for name in ("latency_ms", "timeout_s", "retry_after_s", "primary_reset_s"):
            if not _is_number(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a number of at least 0")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def plan_from_mapping(data: Mapping[str, Any]) -> FaultPlan:
    """A plan from plain JSON/YAML values, e.g. for ``release-train sandbox --faults FILE``::

        {"seed": 7, "probability": 0.05, "kinds": [502, "secondary_rate_limit"],
         "per_endpoint": {"PUT /repos/*/pulls/*/merge": 0.5}, "latency_ms": 20,
         "script": {"POST /repos/acme/shop/check-runs#0": "after"}}

    Raises ValueError naming the bad key."""
    fields = {f for f in FaultPlan.__dataclass_fields__}
    unknown = sorted(set(data) - fields)
    if unknown:
        raise ValueError(f"unknown fault plan keys: {', '.join(unknown)}")
    values: dict[str, Any] = dict(data)
    if "kinds" in values:
        values["kinds"] = tuple(values["kinds"])
    if "latency_endpoints" in values:
        values["latency_endpoints"] = tuple(values["latency_endpoints"])
    if "script" in values:
        script: dict[tuple[str, int], FaultKind] = {}
        for key, kind in dict(values["script"]).items():
            endpoint, sep, nth = str(key).rpartition("#")
            if not sep or not nth.isdigit():
                raise ValueError(f"script key {key!r} must look like 'METHOD /path#N'")
            script[(endpoint, int(nth))] = kind
        values["script"] = script
    return FaultPlan(**values)


def _matches(pattern: str, method: str, path: str) -> bool:
    if pattern.startswith("/"):
        return fnmatch.fnmatchcase(path, pattern)
    return fnmatch.fnmatchcase(f"{method} {path}", pattern)


def probability_for(plan: FaultPlan, method: str, path: str) -> float:
    for pattern, probability in plan.per_endpoint.items():
        if _matches(pattern, method, path):
            return probability
    return plan.probability


def decide(plan: FaultPlan, method: str, path: str, occurrence: int) -> FaultKind | None:
    """The fault (or None) for the `occurrence`-th (0-based) call of ``METHOD path``."""
    scripted = plan.script.get((f"{method} {path}", occurrence))
    if scripted is not None:
        return scripted
    probability = probability_for(plan, method, path)
    if probability <= 0 or not plan.kinds:
        return None
    rng = random.Random(f"{plan.seed}|{method} {path}|{occurrence}")
    if rng.random() >= probability:
        return None
    return plan.kinds[rng.randrange(len(plan.kinds))]


def wants_latency(plan: FaultPlan, method: str, path: str) -> bool:
    if plan.latency_ms <= 0:
        return False
    if not plan.latency_endpoints:
        return True
    return any(_matches(p, method, path) for p in plan.latency_endpoints)


@dataclass(frozen=True)
class Injected:
    """One fault that was injected: the request's global index and its endpoint count."""

    index: int
    method: str
    path: str
    occurrence: int
    kind: FaultKind


class FaultInjector:
    """The stateful side: counts requests, applies `decide`, logs what it injected.

    Install with `install(server, plan)`; it chains to a `before_request` hook that was
    already there (that hook runs after the fault decision, only for unfaulted requests).
    """

    def __init__(
        self,
        plan: FaultPlan,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        dispatch: Callable[[RequestContext], Response] | None = None,
        then: Callable[[RequestContext], Response | None] | None = None,
    ) -> None:
        self.plan = plan
        self.clock = clock
        self.sleep = sleep
        self.dispatch = dispatch
        self.then = then
        self.injected: list[Injected] = []
        self._lock = threading.Lock()
        self._requests = 0
        self._occurrences: dict[str, int] = {}
        self._exhausted_until: float | None = None

    def _count(self, method: str, path: str) -> tuple[int, int]:
        with self._lock:
            index = self._requests
            self._requests += 1
            key = f"{method} {path}"
            occurrence = self._occurrences.get(key, 0)
            self._occurrences[key] = occurrence + 1
            return index, occurrence

    def __call__(self, ctx: RequestContext) -> Response | None:
        index, occurrence = self._count(ctx.method, ctx.path)
        if wants_latency(self.plan, ctx.method, ctx.path):
            self.sleep(self.plan.latency_ms / 1000)
        exhausted = self._primary(ctx, index)
        if exhausted is not None:
            return exhausted
        kind = decide(self.plan, ctx.method, ctx.path, occurrence)
        if kind is None:
            return self.then(ctx) if self.then is not None else None
        with self._lock:
            self.injected.append(Injected(index, ctx.method, ctx.path, occurrence, kind))
        return self._fault(ctx, kind)

    def exhausted_reset(self) -> int | None:
        """While the primary limit is exhausted, its reset (epoch seconds); else None."""
        with self._lock:
            until = self._exhausted_until
        if until is None or self.clock() >= until:
            return None
        return math.ceil(until)

    def _primary(self, ctx: RequestContext, index: int) -> Response | None:
        start = self.plan.primary_exhaustion_after
        if start is None or index < start:
            return None
        with self._lock:
            if self._exhausted_until is None:
                self._exhausted_until = self.clock() + self.plan.primary_reset_s
        reset = self.exhausted_reset()
        if reset is None or ctx.path == "/rate_limit":  # GitHub answers /rate_limit anyway
            return None
        who = (
            f"installation ID {ctx.installation_id}"
            if ctx.installation_id is not None
            else f"user ID {ctx.user.id}"
            if ctx.user is not None
            else "127.0.0.1"
        )
        headers = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": "5000",
            "X-RateLimit-Resource": "core",
        }
        body = {"message": f"API rate limit exceeded for {who}.", "documentation_url": PRIMARY_DOCS}
        return Response(403, body, headers)

    def _fault(self, ctx: RequestContext, kind: FaultKind) -> Response:
        if kind == "secondary_rate_limit":
            body = {"message": SECONDARY_MESSAGE, "documentation_url": SECONDARY_DOCS}
            headers = {"Retry-After": str(self.plan.retry_after_s)}
            return Response(self.plan.secondary_status, body, headers)
        if kind == "timeout":
            self.sleep(self.plan.timeout_s)
            return Response(504, _error_body(504), {DROP_HEADER: "1", "Connection": "close"})
        if kind == "after":
            self._apply(ctx)
            return Response(502, _error_body(502))
        assert isinstance(kind, int)
        return Response(kind, _error_body(kind))

    def _apply(self, ctx: RequestContext) -> None:
        """Run the real handler (its write is kept), whatever it answers."""
        dispatch = self.dispatch or (ctx.server.dispatch if ctx.server is not None else None)
        if dispatch is None:
            return
        with contextlib.suppress(ApiError):
            dispatch(ctx)

    @property
    def requests(self) -> int:
        return self._requests


def _error_body(status: int) -> dict[str, Any]:
    return {"message": _SERVER_ERRORS.get(status, "Server Error"), "documentation_url": ""}


def install(
    server: Any,
    plan: FaultPlan,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> FaultInjector:
    """Make `plan` the server's fault policy (replacing an earlier plan); returns the
    injector, whose `injected` list logs every fault."""
    previous = server.before_request
    if isinstance(previous, FaultInjector):
        previous = previous.then
    injector = FaultInjector(
        plan, clock=clock, sleep=sleep, dispatch=server.dispatch, then=previous
    )
    server.before_request = injector
    return injector


def uninstall(server: Any) -> None:
    """Remove fault injection, keeping any hook it chained to."""
    current = server.before_request
    if isinstance(current, FaultInjector):
        server.before_request = current.then
