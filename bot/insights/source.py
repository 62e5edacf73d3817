"""Pick where the history comes from: a local clone (path) or GitHub (OWNER/NAME + API URL)."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from bot.core.identity import DEFAULT_LOGIN, BotIdentity
from bot.errors import UsageError
from bot.insights.model import DEFAULT_LEDGER, History


@dataclass(frozen=True)
class SourceSpec:
    repo: str = "."
    api_url: str = ""
    token_env: str = "GITHUB_TOKEN"
    ledger_branch: str = DEFAULT_LEDGER
    base: str | None = None
    bot_login: str = DEFAULT_LOGIN

    @property
    def remote(self) -> bool:
        return bool(self.api_url) or (
            self.repo.count("/") == 1
            and not self.repo.startswith(("/", ".", "~"))
            and not Path(self.repo).exists()
        )

    def load(self) -> History:
        if not self.remote:
            from bot.insights.gitlog import read_history

            return read_history(
                Path(self.repo), ledger_branch=self.ledger_branch, base=self.base, bot=self.bot
            )
        from bot.insights.github import read_history_api

        token = os.environ.get(self.token_env, "")
        if not token:
            raise UsageError(f"--repo {self.repo}: set ${self.token_env} to a GitHub token")
        return read_history_api(
            self.repo,
            token,
            api_url=self.api_url or "https://api.github.com",
            ledger_branch=self.ledger_branch,
            base=self.base,
            bot=self.bot,
        )

    @property
    def bot(self) -> BotIdentity:
        return BotIdentity(self.bot_login)


def add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo", default=".", help="a local clone's path (default: .) or OWNER/NAME on GitHub"
    )
    parser.add_argument(
        "--api-url",
        default="",
        help="GitHub API URL for OWNER/NAME (default: https://api.github.com)",
    )
    parser.add_argument(
        "--token-env",
        default="GITHUB_TOKEN",
        metavar="NAME",
        help="environment variable holding the token (default: GITHUB_TOKEN)",
    )
    parser.add_argument(
        "--ledger-branch",
        default=DEFAULT_LEDGER,
        help=f"ledger branch (default: {DEFAULT_LEDGER}; origin/... works)",
    )
    parser.add_argument(
        "--base", default=None, help="base branch (default: the repository's HEAD branch)"
    )
    parser.add_argument(
        "--bot-login",
        default=DEFAULT_LOGIN,
        metavar="LOGIN",
        help="the bot's login: only its commits count, others are reported by `audit verify` "
        f"(default: {DEFAULT_LOGIN}; an App's is <app-slug>[bot])",
    )


def spec_from_args(args: argparse.Namespace) -> SourceSpec:
    return SourceSpec(
        args.repo, args.api_url, args.token_env, args.ledger_branch, args.base, args.bot_login
    )
