"""The sandbox: a local GitHub-compatible REST server over real bare git repositories.

- `bot.sandbox.http`: the plug-in contract (Router, RequestContext, Response, ApiError,
  paginate). Handlers raise `ApiError` for GitHub-shaped errors.
- `bot.sandbox.server`: the HTTP server. Hooks: ``Server.before_request`` (return a
  Response to short-circuit; fault injection), ``Server.deliver`` (webhooks),
  ``Server.request_log`` ((method, path, status, ms)), ``Server.rate_limits``,
  ``Server.clock``, ``Server.call`` (in-process request as a user, unlogged).
- `bot.sandbox.store` / `bot.sandbox.gitstore`: one atomically written JSON document
  (``DIR/store.json``) and bare repositories (``DIR/git/<owner>/<name>.git``);
  ``release-train sandbox`` also writes the App's private key to ``DIR/app.pem``.
- `bot.sandbox.faults`: seeded fault plans (``run_sandbox(faults=FaultPlan(...))``,
  ``release-train sandbox --faults FILE``); a Response carrying ``http.DROP_HEADER``
  is never written, the connection is closed instead (the "timeout" fault).
- `bot.sandbox.api.*`: endpoint groups, each with ``routes(router)``, found by pkgutil.
- `bot.sandbox.scenario`: the scenario kit and the demo repository ``acme/shop``;
  `bot.sandbox.runner`: ``with run_sandbox() as sb`` for tests and the CLI.
"""
