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
  RELEASE_TRAIN_COMMAND=reconcile|plan    plan: print the actions, write nothing
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
    if args.json and result is not None:
        print_json({**outputs_of(result, code), "trains": [t.__dict__ for t in result.trains]})
    return code
