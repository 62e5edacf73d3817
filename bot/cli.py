"""The `release-train` command line.

Each subcommand lives in its own module under `bot/commands/` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``(args) -> int``. This module discovers them, parses the arguments and is the one
place where exceptions become exit codes. A subcommand's module is named like the
subcommand; when the command line names one, only that module is imported (a `bump` over
many files, or the Action's tick, does not pay for importing the server and the demo).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from bot import __version__
from bot.errors import EXIT_EXTERNAL, EXIT_USAGE, ConfigError, ReleaseTrainError

EXIT_CODES_HELP = """\
exit codes:
  0  ok
  1  check failed (invalid config, gate failed, SLO breached, image not found)
  2  usage error
  3  inconclusive or held (not enough evidence yet; try again later)
  4  an external system failed (GitHub, Prometheus, git)
"""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our usage code (2) and shows exit codes in --help."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def _command_modules(argv: Sequence[str] | None) -> list[str]:
    """The command modules to import: the one the command line names, else all of them."""
    import bot.commands as commands_pkg

    names = sorted(
        info.name
        for info in pkgutil.iter_modules(commands_pkg.__path__)
        if not info.name.startswith("_")
    )
    first = next(iter(argv or ()), None)
    return [first] if first in names else names


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the subcommand it names (all when it names none)."""
    parser = _Parser(
        prog="release-train",
        description="Scheduled, gated, stage-by-stage release trains on GitHub, "
        "with Git history as the audit log.",
    )
    parser.add_argument("--version", action="version", version=f"release-train {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _command_modules(argv):
        importlib.import_module(f"bot.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem.render(), file=sys.stderr)
        return exc.exit_code
    except ReleaseTrainError as exc:
        print(f"release-train: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("release-train: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"release-train: {exc}", file=sys.stderr)
        return EXIT_EXTERNAL
