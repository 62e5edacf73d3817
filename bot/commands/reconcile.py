"""`release-train reconcile`: bring one repository's trains up to date, once."""

from __future__ import annotations

import argparse
import os
from typing import Any
from urllib.parse import urlsplit

from bot.commands._common import add_json_flag, add_now_flag, parse_instant, print_json
from bot.errors import UsageError

DEFAULT_API = "https://api.github.com"


def add_repo_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments `reconcile` and `plan` share."""
    parser.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the repository")
    parser.add_argument(
        "--api-url",
        default=os.environ.get("GITHUB_API_URL", DEFAULT_API),
        metavar="URL",
        help=f"GitHub REST API base URL (default: $GITHUB_API_URL or {DEFAULT_API})",
    )
    parser.add_argument(
        "--token-env",
        default="GITHUB_TOKEN",
        metavar="NAME",
        help="environment variable holding the token (default: GITHUB_TOKEN)",
    )
    parser.add_argument(
        "--config-path",
        default=os.environ.get("RELEASE_TRAIN_CONFIG", ""),
        metavar="PATH",
        help="the configuration's path in the repository, read from the default branch "
        "(default: $RELEASE_TRAIN_CONFIG or .github/release-train.yml)",
    )
    add_now_flag(parser)
    add_json_flag(parser)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="read config, ledger and GitHub; take the actions due; record them",
        description="Run the reconcile loop once for a repository: read the configuration "
        "from the default branch, the ledger branch and the pull requests; decide what is "
        "due (boarding, departure, the train PR, merge, ChatOps, deadlines); do it and "
        "record each transition in the ledger. Running it again right after does nothing.",
    )
    add_repo_arguments(parser)
    parser.set_defaults(func=run)


def open_client(args: argparse.Namespace) -> Any:
    """A GitHub client for `--repo`, with the token from `--token-env`."""
    from bot.adapters.github import GitHubClient

    if "/" not in args.repo.strip("/"):
        raise UsageError(f"--repo: {args.repo!r} is not OWNER/NAME")
    url = urlsplit(args.api_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise UsageError(f"--api-url: {args.api_url!r} is not an http(s) URL")
    token = os.environ.get(args.token_env, "")
    if not token:
        raise UsageError(f"no token: set the environment variable {args.token_env}")
    # who the bot is: $RELEASE_TRAIN_BOT_LOGIN, else GET /user (an App's installation token
    # cannot ask: set it to <app-slug>[bot])
    login = os.environ.get("RELEASE_TRAIN_BOT_LOGIN", "").strip()
    return GitHubClient(args.repo, token, api_url=args.api_url, bot_login=login)


def execute(args: argparse.Namespace, *, dry_run: bool) -> Any:
    from bot.adapters.prometheus import judge_client
    from bot.config.operator import outbound_from_env
    from bot.transports.action import reconcile_at
    from bot.transports.settings import checked_config_path

    now = parse_instant(args.now)
    config_path = checked_config_path(args.config_path)
    policy = outbound_from_env(os.environ)  # the operator's: PROMETHEUS_*, sources file
    with open_client(args) as client:
        return reconcile_at(
            args.repo,
            now,
            client=client,
            config_path=config_path,
            dry_run=dry_run,
            outbound=policy,
            prometheus=judge_client(policy),
        )


def run(args: argparse.Namespace) -> int:
    result = execute(args, dry_run=False)
    if args.json:
        print_json(result.as_json())
    else:
        for line in result.actions_done:
            print(f"done: {line}")
        for train_id, state in result.trains:
            print(f"train {train_id}: {state}")
        if not result.actions_done:
            print("nothing to do")
        for problem in result.problems:
            print(f"problem: {problem}")
    return exit_code(result)


def exit_code(result: Any, *, dry_run: bool = False) -> int:
    """The README's table (`bot.transports.action.exit_code_of`, the Action's rule, where a
    held promotion is also 3 or 4)."""
    from bot.transports.action import exit_code_of
    from bot.transports.result import view

    return exit_code_of(view(result, dry_run=dry_run), held_fails=True)
