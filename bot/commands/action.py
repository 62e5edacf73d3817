"""`release-train action`: the GitHub Action's entry point (see `action.yml`)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bot.commands._common import add_json_flag, add_now_flag, parse_instant, print_json

DESCRIPTION = """\
Run one reconcile for the repository of the current GitHub Actions workflow run and write
the step's outputs (train-id, state, actions-taken, exit-code) and job summary.

environment (set by the runner and action.yml):
  GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_API_URL,
  GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_RUN_ID
  RELEASE_TRAIN_TOKEN (or GITHUB_TOKEN)   the token to act with
  RELEASE_TRAIN_CONFIG                    config path in the repository, read from the
                                          default branch (default .github/release-train.yml)
  RELEASE_TRAIN_COMMAND=reconcile|plan    plan: print the actions, write nothing, and
                                          run `doctor` (its findings in the summary)
  RELEASE_TRAIN_NOW=ISO                   the time a plan pretends it is (plan only)
  RELEASE_TRAIN_DRY_RUN=true              the same as RELEASE_TRAIN_COMMAND=plan
  RELEASE_TRAIN_BOT_LOGIN                 the login the token acts as
  PROMETHEUS_URL, PROMETHEUS_TOKEN        for SLO judgement
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "action", help="run as a GitHub Action step", description=DESCRIPTION
    )
    parser.add_argument("--dry-run", action="store_true", help="plan only, write nothing")
    add_now_flag(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.transports.action import outputs_of, run_action

    code, result = run_action(os.environ, parse_instant(args.now), dry_run=args.dry_run)
    if result is not None and _planned(args.dry_run):  # can a train complete? (doctor)
        doctor_summary(os.environ)
    if args.json and result is not None:
        print_json({**outputs_of(result, code), "trains": [t.__dict__ for t in result.trains]})
    return code


def _planned(dry_run: bool) -> bool:
    from bot.transports.action import read_env

    return read_env(os.environ, dry_run=dry_run).dry_run


def doctor_summary(env: Any) -> bool:
    """`release-train doctor` for the workflow's repository, its findings appended to the
    job summary and printed as warnings; whether a train can complete (a finding never
    changes the plan's exit code). The workflow's GITHUB_TOKEN is told apart from an App
    token by action.yml's RELEASE_TRAIN_DEFAULT_TOKEN."""
    from bot.adapters.github import GitHubClient
    from bot.commands.doctor import as_text, examine
    from bot.config.repo import load_repo_config
    from bot.errors import ReleaseTrainError
    from bot.transports.action import read_env
    from bot.transports.settings import checked_config_path

    ae = read_env(env, dry_run=True)
    default = str(env.get("RELEASE_TRAIN_DEFAULT_TOKEN", "") or "").strip()
    actions_token = bool(default) and default == ae.token
    try:
        with GitHubClient(ae.repo, ae.token, api_url=ae.api_url, bot_login=ae.bot_login) as gh:
            config = load_repo_config(gh, checked_config_path(ae.config), repo=ae.repo)
            if config is None:
                return True  # the plan said so already
            me = gh.bot_login().removesuffix("[bot]")
            report = examine(gh, ae.repo, config, me, actions_token=actions_token)
    except ReleaseTrainError as exc:
        _summary(ae.summary_path, f"### Doctor\n\nCould not run: {exc.message}\n")
        print(f"::warning::release-train doctor could not run: {_escaped(exc.message)}")
        return False
    verdict = "a train can complete" if report.ok else "**a train could not complete**"
    text = as_text(report).replace("`" * 3, "'" * 3)
    _summary(ae.summary_path, f"### Doctor: {verdict}\n\n```\n{text}\n```\n")
    for problem in report.problems:
        print(f"::warning title=release-train doctor::{_escaped(problem)}")
    return report.ok


def _escaped(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _summary(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n" + text)
