"""`release-train flags`: the repository's feature-flag debt, a report to run weekly."""

from __future__ import annotations

import argparse
import os
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands._common import add_json_flag, add_now_flag, parse_instant, print_json
from bot.config.repo import CONFIG_PATH
from bot.errors import EXIT_CHECK_FAILED, EXIT_OK, ConfigError, Problem, UsageError

if TYPE_CHECKING:
    from bot.core.flag_debt import Debt
    from bot.core.flagfile import Flag

DESCRIPTION = """\
List the feature flags defined in FILES (OpenFeature flagd definitions or a simple `flags:`
list, as the release-train/flags gate reads them) that carry debt: expired, expiring within
--within (default 30d), without an owner, or without an expiry. Without FILES, the files
are those `gates.flags.files` names in --config (globs matched against the paths under the
current directory, `*` crossing `/`, as the gate matches them).

A flag file that does not parse or violates the flagd schema is reported as FILE:LINE:COL.
Exits 1 when there is flag debt or a file cannot be read, 0 when there is none.

example:
  release-train flags --within 14d flags/*.flagd.json
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "flags", help="report feature-flag debt (expired, expiring, ownerless)",
        description=DESCRIPTION,
    )  # fmt: skip
    parser.add_argument("files", nargs="*", metavar="FILE", help="flag files to read")
    parser.add_argument(
        "--config", default=None, help=f"config naming the flag files (default: {CONFIG_PATH})"
    )
    parser.add_argument("--within", default="30d", metavar="DURATION",
                        help="report flags expiring within this long (default 30d)")  # fmt: skip
    add_now_flag(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.config.durations import parse_duration
    from bot.core.flag_debt import flag_debt
    from bot.core.flagfile import parse_flag_file

    now = parse_instant(args.now)
    try:
        within = parse_duration(args.within)
    except ValueError as exc:
        raise UsageError(f"--within: {exc}") from None
    files, need_expiry = _files(args)
    flags: list[Flag] = []
    problems: list[Problem] = []
    for path in files:
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            problems.append(Problem(f"cannot read: {exc.strerror}", file=path))
            continue
        parsed = parse_flag_file(text, path)
        flags += parsed.flags
        problems += parsed.problems
    if problems:
        raise ConfigError(problems)
    debt = flag_debt(flags, now.date(), within, need_expiry=need_expiry)
    if args.json:
        print_json({"flags": len(flags), "debt": [d.as_json() for d in debt]})
    else:
        _print(debt, len(flags))
    return EXIT_CHECK_FAILED if debt else EXIT_OK


def _files(args: argparse.Namespace) -> tuple[list[str], bool]:
    """The files to read, and whether an expiry is required (the gate's `require`)."""
    if args.files and args.config is None:
        return list(args.files), True
    from bot.config.load import load_config
    from bot.core.gates.flags import settings_from_config

    settings = settings_from_config(load_config(Path(args.config or CONFIG_PATH)).gates.flags)
    need_expiry = "expires" in settings.require
    if args.files:
        return list(args.files), need_expiry
    if not settings.files:
        raise UsageError("no FILE given and the config names no `gates.flags.files`")
    return local_flag_files(Path("."), settings.files), need_expiry


def local_flag_files(root: Path, globs: tuple[str, ...]) -> list[str]:
    """Repository paths under `root` (a checkout; `.git` skipped) that `globs` match, as the
    gate matches them."""
    found = []
    for here, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(names):
            path = os.path.relpath(os.path.join(here, name), root).replace(os.sep, "/")
            if any(fnmatchcase(path, glob) for glob in globs):
                found.append(path)
    return found


def flag_file_problems(root: Path, mapping: object, config: str) -> list[Problem]:
    """For `validate`: every problem of the flag files `gates.flags.files` names in the
    checkout at `root` (paths relative to it), and a warning for a glob matching nothing."""
    from bot.core.flagfile import parse_flag_file

    files = mapping.get("files") if isinstance(mapping, dict) else None
    globs = tuple(g for g in files or () if isinstance(g, str) and g)
    problems: list[Problem] = []
    for glob in globs:
        if not local_flag_files(root, (glob,)):
            message = f"gates.flags.files: {glob!r} matches no file under {root}"
            problems.append(Problem(message, file=config, severity="warning"))
    for path in local_flag_files(root, globs):
        problems += parse_flag_file((root / path).read_bytes(), path).problems
    return problems


def _print(debt: list[Debt], count: int) -> None:
    from bot.commands._common import render_table

    if not debt:
        print(f"no flag debt ({count} flag(s) checked)")
        return
    rows = [[d.flag.name, f"{d.flag.file}:{d.flag.line}", d.flag.owner or "-",
             str(d.flag.expires or "-"), ", ".join(d.reasons)] for d in debt]  # fmt: skip
    print(render_table(["flag", "where", "owner", "expires", "debt"], rows))
    print(f"\n{len(debt)} of {count} flag(s) carry debt")
