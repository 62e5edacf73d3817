"""`release-train plan`: what `reconcile` would do now, numbered; writes nothing."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._common import print_json
from bot.commands.reconcile import add_repo_arguments, execute, exit_code


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="print the actions reconcile would take now (a dry run)",
        description="Read the configuration, the ledger and GitHub like `reconcile`, and "
        "print the actions it would take, numbered. Makes no write request.",
    )
    add_repo_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = execute(args, dry_run=True)
    if args.json:
        print_json({**result.as_json(), "actions_done": []})
        return exit_code(result, dry_run=True)
    for train_id, state in result.trains:
        print(f"train {train_id}: {state}")
    if not result.actions_planned:
        print("nothing to do")
    for number, line in enumerate(result.actions_planned, 1):
        print(f"{number:3}. {line}")
    for problem in result.problems:
        print(f"problem: {problem}")
    return exit_code(result, dry_run=True)
