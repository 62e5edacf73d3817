"""Who the bot is, and whether a thing GitHub shows was made by it (pure).

The bot finds its own past work by hidden markers in comments, issues and PR bodies, and
by trailers in commits. Anyone can write the same text, so text alone proves nothing:
a thing is the bot's only when GitHub says the bot made it.

- **Comments, issues, pull requests**: the author (`user.login`) is the bot's login
  (``<app-slug>[bot]`` for an App, ``github-actions[bot]`` with a workflow's token, the
  token's user for the CLI), or `performed_via_github_app.id` is this App's id.
- **Commits**: the author is the bot's git identity (name = login, or the e-mail's local
  part is the login, GitHub's ``<id>+<login>@users.noreply.github.com`` included; or the
  name/e-mail ``GET /user`` gave for a user's token), and, for a bot account (``...[bot]``)
  where the source says whether GitHub verified the commit (the REST API's `verification`),
  it did: GitHub signs the commits an App or a workflow token creates through the API with
  no custom author, never a pushed one that merely claims the bot's name. A user's token
  (the CLI with a personal token) gets no such signature: there the identity alone decides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_LOGIN = "release-train[bot]"
_NOREPLY_ID = re.compile(r"^\d+\+")


@dataclass(frozen=True)
class BotIdentity:
    login: str = DEFAULT_LOGIN
    app_id: int = 0  # 0: unknown (Action and CLI modes)
    git_emails: tuple[str, ...] = ()  # a user token's own e-mail (from GET /user)

    @property
    def is_bot_account(self) -> bool:
        return self.login.lower().endswith("[bot]")

    def is_login(self, login: str | None) -> bool:
        return bool(login) and str(login).lower() == self.login.lower()

    def made(self, raw: Mapping[str, Any] | None) -> bool:
        """Whether a comment, issue or pull request (GitHub's JSON) was made by the bot."""
        if not isinstance(raw, Mapping):
            return False
        user = raw.get("user")
        if isinstance(user, Mapping) and self.is_login(str(user.get("login") or "")):
            return True
        via = raw.get("performed_via_github_app")
        return bool(self.app_id) and isinstance(via, Mapping) and via.get("id") == self.app_id

    def is_person(self, name: str, email: str) -> bool:
        """Whether a git identity (name, e-mail) is the bot's."""
        local = _NOREPLY_ID.sub("", email.rsplit("@", 1)[0]) if "@" in email else ""
        if self.is_login(name) or self.is_login(local):
            return True
        return bool(email) and email.lower() in (e.lower() for e in self.git_emails if e)

    def made_commit(self, name: str, email: str, verified: bool | None = None) -> bool:
        """Whether a commit is the bot's: its author is the bot, and, for a bot account,
        GitHub verified it where that is known (`verified` None: the source cannot tell,
        e.g. a local clone)."""
        if not self.is_person(name, email):
            return False
        return not (self.is_bot_account and verified is False)
