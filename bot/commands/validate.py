"""`release-train validate [FILE]`: report every problem in a configuration."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bot.commands._common import add_json_flag, add_now_flag
from bot.config.repo import CONFIG_PATH


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a configuration file and report every problem",
        description=(
            "Check a Release Train configuration (default .github/release-train.yml):\n"
            "YAML, schema, references, cron, durations, globs, cutover windows, time zone\n"
            "and freezes, with the shipped defaults and any extends: policy merged in; the\n"
            "flag files gates.flags.files names (under --repo-root), as the flags gate\n"
            "reads them; a warning when a train's departed deadline passes before any\n"
            "migration window (gates.migrations.windows) opens after its next departures.\n\n"
            "Prints FILE:LINE:COL: message for each problem (FILE:LINE:COL: warning: ...\n"
            "for warnings); with GITHUB_ACTIONS=true also ::error/::warning lines.\n"
            "Exits 1 on any error; warnings alone exit 0.\n\n"
            "Always refused: keys naming environment variables (the old prometheus.*_env)\n"
            "and headers that carry credentials (Authorization, Cookie, ...). With --app,\n"
            "also where the configuration points the bot, checked as the GitHub App would\n"
            "with the operator's settings in this environment (RELEASE_TRAIN_SOURCES,\n"
            "RELEASE_TRAIN_ALLOW_URLS, PROMETHEUS_URL): unknown sources, URLs the operator\n"
            "did not allow, and hosts that are or resolve to internal addresses."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        default=CONFIG_PATH,
        metavar="FILE",
        help=f"the configuration file (default: {CONFIG_PATH})",
    )
    parser.add_argument(
        "--repo-root",
        metavar="DIR",
        help="where extends: paths resolve (default: the enclosing Git checkout)",
    )
    parser.add_argument(
        "--policy",
        action="store_true",
        help="check FILE as a shared policy file (nothing required)",
    )
    parser.add_argument(
        "--merged",
        action="store_true",
        help="also print the effective configuration (defaults and extends merged) as JSON",
    )
    parser.add_argument(
        "--app",
        action="store_true",
        help="also check outbound targets as the GitHub App would, with the operator's "
        "settings from this environment (see docs/threat-model.md)",
    )
    parser.add_argument(
        "--check-ledger",
        metavar="OWNER/NAME",
        help="also ask GitHub whether the repository's ledger branch is protected (a warning "
        "when anyone with write access may push to it); token from --token-env",
    )
    parser.add_argument(
        "--api-url",
        default=os.environ.get("GITHUB_API_URL", "https://api.github.com"),
        metavar="URL",
        help="GitHub REST API base URL for --check-ledger (default: $GITHUB_API_URL or "
        "https://api.github.com)",
    )
    parser.add_argument(
        "--token-env",
        default="GITHUB_TOKEN",
        metavar="NAME",
        help="environment variable holding the token for --check-ledger (default: GITHUB_TOKEN)",
    )
    add_now_flag(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.commands._common import parse_instant
    from bot.config.load import read_config_bytes
    from bot.errors import ConfigError

    now = parse_instant(args.now)
    path = Path(args.file)
    root = _root(args, path)
    try:
        data = read_config_bytes(path)
    except ConfigError as exc:
        return _report(args, str(path), exc.problems, None)
    if args.policy:
        from bot.config.load import validate_policy_text

        return _report(args, str(path), validate_policy_text(data, str(path)), None)
    from bot.config.load import analyse, repo_reader, repo_relative

    result = analyse(
        data,
        str(path),
        read_file=repo_reader(root),
        now=now,
        repo_path=repo_relative(path, root),
        outbound=_app_policy() if args.app else None,
        resolve=True,
    )
    problems = list(result.problems)
    gates = (result.merged or {}).get("gates") or {}
    if isinstance(gates, dict) and gates.get("flags"):
        from bot.commands.flags import flag_file_problems

        problems += flag_file_problems(Path(root), gates["flags"], str(path))
    if result.config is not None:
        from bot.commands.calendar import window_problems

        problems += window_problems(result.config, now, str(path))
    if args.check_ledger and result.merged is not None:
        problems += _ledger_protection(args, result.merged, str(path))
    return _report(args, str(path), problems, _in_schema_order(result.merged))


def _ledger_protection(args: argparse.Namespace, merged: dict[str, Any], where: str) -> list[Any]:
    """A warning when the ledger branch of `--check-ledger` is not protected."""
    from bot.adapters.github import GitHubClient
    from bot.config.model import Config
    from bot.errors import UsageError
    from bot.shell.ledger_trust import protection_problem

    if args.check_ledger.count("/") != 1:
        raise UsageError(f"--check-ledger {args.check_ledger!r}: expected OWNER/NAME")
    token = os.environ.get(args.token_env, "")
    if not token:
        raise UsageError(f"--check-ledger: set the environment variable {args.token_env}")
    branch = str((merged.get("ledger") or {}).get("branch") or Config.ledger_branch)
    with GitHubClient(args.check_ledger, token, api_url=args.api_url) as client:
        found = protection_problem(client, branch, where)
    return [found] if found is not None else []


def _app_policy() -> Any:
    """The operator's outbound policy from this environment, in App mode."""
    import os

    from bot.config.operator import outbound_from_env
    from bot.config.outbound import Mode

    return outbound_from_env(os.environ, Mode.APP)


def _in_schema_order(merged: dict[str, Any] | None) -> dict[str, Any] | None:
    """Top-level keys in the order the schema (and the docs) list them."""
    from bot.config.schemas import load_schema

    if merged is None:
        return None
    order = list(load_schema("config.schema.json")["properties"])
    rank = {key: index for index, key in enumerate(order)}
    return dict(sorted(merged.items(), key=lambda item: rank.get(item[0], len(order))))


def _root(args: argparse.Namespace, path: Any) -> Any:
    from pathlib import Path

    from bot.config.load import guess_repo_root
    from bot.errors import UsageError

    if args.repo_root is None:
        return guess_repo_root(path)
    root = Path(args.repo_root)
    if not root.is_dir():
        raise UsageError(f"--repo-root: {args.repo_root} is not a directory")
    return root


def _report(
    args: argparse.Namespace, name: str, problems: list[Any], merged: dict[str, Any] | None
) -> int:
    from bot.commands._common import in_github_actions, print_json

    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    if args.json:
        document: dict[str, Any] = {
            "file": name,
            "valid": not errors,
            "errors": len(errors),
            "warnings": warnings,
            "problems": [
                {
                    "file": p.file,
                    "line": p.line,
                    "col": p.col,
                    "severity": p.severity,
                    "message": p.message,
                }
                for p in problems
            ],
        }
        if args.merged:
            document["merged"] = merged
        print_json(document)
    else:
        _print_text(name, problems, len(errors), warnings, in_github_actions())
        if args.merged and merged is not None:
            print_json(merged)
    return 1 if errors else 0


def _print_text(name: str, problems: list[Any], errors: int, warnings: int, annotate: bool) -> None:
    import sys

    for problem in problems:
        print(problem.render())
        if annotate:
            print(problem.github_annotation())
    if errors:
        print(f"{name}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    else:
        suffix = f" ({warnings} warning(s))" if warnings else ""
        print(f"{name}: valid{suffix}", file=sys.stderr)
