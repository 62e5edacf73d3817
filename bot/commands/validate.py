"""`release-train validate [FILE]`: report every problem in a configuration."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._common import add_json_flag, add_now_flag

DEFAULT_FILE = ".github/release-train.yml"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a configuration file and report every problem",
        description=(
            "Check a Release Train configuration (default .github/release-train.yml):\n"
            "YAML, schema, references, cron, durations, globs, cutover windows, time zone\n"
            "and freezes, with the shipped defaults and any extends: policy merged in.\n\n"
            "Prints FILE:LINE:COL: message for each problem (FILE:LINE:COL: warning: ...\n"
            "for warnings); with GITHUB_ACTIONS=true also ::error/::warning lines.\n"
            "Exits 1 on any error; warnings alone exit 0."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        default=DEFAULT_FILE,
        metavar="FILE",
        help=f"the configuration file (default: {DEFAULT_FILE})",
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
    add_now_flag(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.commands._common import parse_instant
    from bot.config.load import (
        guess_repo_root,
        read_config_bytes,
        repo_reader,
        repo_relative,
        validate_text,
    )
    from bot.errors import ConfigError, UsageError

    now = parse_instant(args.now)
    path = Path(args.file)
    try:
        data = read_config_bytes(path)
    except ConfigError as exc:
        return _report(args, str(path), exc.problems)
    if args.repo_root is not None:
        root = Path(args.repo_root)
        if not root.is_dir():
            raise UsageError(f"--repo-root: {args.repo_root} is not a directory")
    else:
        root = guess_repo_root(path)
    if args.policy:
        from bot.config.load import validate_policy_text

        problems = validate_policy_text(data, str(path))
    else:
        problems = validate_text(
            data,
            str(path),
            read_file=repo_reader(root),
            now=now,
            repo_path=repo_relative(path, root),
        )
    return _report(args, str(path), problems)


def _report(args: argparse.Namespace, name: str, problems: list[Any]) -> int:
    from bot.commands._common import in_github_actions, print_json

    errors = [p for p in problems if p.severity == "error"]
    warnings = len(problems) - len(errors)
    if args.json:
        print_json(
            {
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
        )
    else:
        _print_text(name, problems, len(errors), warnings, in_github_actions())
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
