"""Endpoint groups of the sandbox. Every public module here exposes ``routes(router)``.

`build_router()` discovers them with pkgutil, so a new group is one new file.
Modules whose name starts with ``_`` are helpers and are skipped.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.sandbox.http import Router


def build_router() -> Router:
    router = Router()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        routes = getattr(module, "routes", None)
        if callable(routes):
            routes(router)
    return router
