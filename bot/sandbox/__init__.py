"""The sandbox: a local GitHub-compatible REST server over real bare git repositories.

- `bot.sandbox.http`: the plug-in contract (Router, RequestContext, Response, ApiError).
- `bot.sandbox.server`: the HTTP server (auth, rate limits, ETags, request log, hooks).
- `bot.sandbox.store` / `bot.sandbox.gitstore`: JSON state and bare repositories.
- `bot.sandbox.api.*`: endpoint groups, each with ``routes(router)``, found by pkgutil.
- `bot.sandbox.scenario`: the scenario kit and demo data; `bot.sandbox.runner`:
  ``with run_sandbox() as sb`` for tests.
"""
