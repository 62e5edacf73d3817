"""GitHub's rules in the sandbox: branch protection, rulesets, App-only checks, permissions.

- `store`: where protection and rulesets live (``extra``) and the settings of this package.
- `evaluate`: pure verdicts — may this actor move this ref / merge this pull request?
- `enforce`: the hooks the endpoint handlers call (`check_push`, `check_merge`) and the
  server calls before every handler (`gate`: permissions per endpoint, App-only checks).
- `endpoints`: ``PUT/GET/DELETE /repos/{o}/{r}/branches/{b}/protection``, the rulesets
  endpoints and ``GET /repos/{o}/{r}/rules/branches/{b}`` (served by
  ``bot.sandbox.api.rules``).

The messages and status codes follow GitHub's answers as recorded in public reports
(REST ``PATCH git/refs``: 422; contents ``PUT``: 409; ``PUT pulls/{n}/merge``: 405;
Checks API with a non-App token: 403 "You must authenticate via a GitHub App.").
"""

from __future__ import annotations

from bot.sandbox.rules.enforce import check_merge, check_push, gate

__all__ = ["check_merge", "check_push", "gate"]
