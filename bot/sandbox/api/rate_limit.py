"""``GET /rate_limit``: the caller's rate-limit windows, as the server counts them."""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import RequestContext, Response, Router

SEARCH_LIMIT = 30
GRAPHQL_LIMIT = 5000


def _window(ctx: RequestContext) -> dict[str, int]:
    server = ctx.server
    anonymous = ctx.user is None and ctx.token is None
    if server is None or not hasattr(server, "rate_window"):
        return {"limit": 60 if anonymous else 5000, "used": 0, "remaining": 5000, "reset": 0}
    key = ctx.token or f"ip:{ctx.headers.get('x-forwarded-for', 'loopback')}"
    window = server.rate_window(key, anonymous)
    exhausted = getattr(server.before_request, "exhausted_reset", None)
    reset = exhausted() if callable(exhausted) else None
    if reset is not None:  # a fault plan ran the primary limit out
        return {"limit": window.limit, "used": window.limit, "remaining": 0, "reset": reset}
    return {
        "limit": window.limit,
        "used": window.used,
        "remaining": window.remaining,
        "reset": window.reset,
    }


def _fresh(limit: int, reset: int) -> dict[str, int]:
    return {"limit": limit, "used": 0, "remaining": limit, "reset": reset}


def get_rate_limit(ctx: RequestContext) -> Response:
    core = _window(ctx)
    reset = core["reset"]
    resources: dict[str, Any] = {
        "core": core,
        "search": _fresh(SEARCH_LIMIT, reset),
        "graphql": _fresh(GRAPHQL_LIMIT, reset),
        "integration_manifest": _fresh(5000, reset),
        "code_scanning_upload": _fresh(1000, reset),
    }
    return Response(200, {"resources": resources, "rate": dict(core)})


def routes(router: Router) -> None:
    router.add("GET", "/rate_limit", get_rate_limit)
