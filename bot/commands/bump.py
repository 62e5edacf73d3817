"""`release-train bump`: set an image's tag or digest in manifests, changing only those bytes."""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands._common import add_json_flag, print_json
from bot.commands._replace_files import replace_text, sync_directories
from bot.errors import EXIT_CHECK_FAILED, EXIT_OK, ConfigError, Problem, UsageError

if TYPE_CHECKING:
    from bot.core.manifests import Bump, BumpResult

DESCRIPTION = """\
Set the tag and/or digest of one image in Kubernetes manifests, kustomizations, Helm values
and Argo CD Applications. Only the characters of the value change: comments, quoting,
indentation, line endings and document separators stay as they are.

Files are rewritten in place, atomically (a temporary file renamed over each: a reader, or a
crash of the command, sees the old text or the new, never a mix; each directory is fsync'd
once after the renames, files are not fsync'd one by one); `-` reads stdin and writes
stdout. With --diff, nothing is written and a unified diff is printed. A file whose text
does not name the image is not parsed at all. A file that names it but cannot be bumped (it
does not parse, or the bump is refused there) is reported with FILE:LINE:COL and left as it
is; the other files are still bumped and the exit code is 1 (with --all-or-nothing, nothing
is written then). Exits 1 too when the image is in none of the files. An image pinned by
digest (`digest:`, `sha:` or `@sha256:...`) needs --digest: a tag-only bump there is
refused, since the old digest would still decide what runs. An image named inside a block
scalar (an annotation or an inline patch holding YAML text) is reported as a warning with
its position, never edited.

Only deployable YAML is edited: Kubernetes objects with a pod spec, kustomizations, Helm
values, Argo CD Application/ApplicationSet, Flux HelmRelease. Build, CI and other
configuration (skaffold, GitHub Actions, GitLab CI, compose, Kargo, Argo Workflows) is
reported as a warning and left alone unless --yaml-path names the value or --any-kind is given.

example:
  release-train bump --image ghcr.io/acme/checkout --tag 1.5.0 --diff deploy/*.yaml
"""


@dataclass(frozen=True)
class _Outcome:
    name: str
    original: str
    result: BumpResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bump",
        help="set an image's tag or digest in manifests, byte-exactly",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--image",
        required=True,
        metavar="NAME",
        help="image repository without tag, e.g. ghcr.io/acme/checkout",
    )
    what = parser.add_argument_group("target (at least one)")
    what.add_argument("--tag", metavar="T", help="the new tag")
    what.add_argument("--digest", metavar="D", help="the new digest, e.g. sha256:...")
    parser.add_argument(
        "--name",
        dest="new_name",
        metavar="NEW_NAME",
        help="also rename the image (kustomize newName, Helm repository)",
    )
    parser.add_argument(
        "--yaml-path",
        dest="yaml_paths",
        action="append",
        default=[],
        metavar="P",
        help="also set the value at this YAML path "
        "(e.g. spec.template.spec.containers[name=app].image); repeatable",
    )
    parser.add_argument(
        "--diff", action="store_true", help="print a unified diff and write nothing"
    )
    parser.add_argument(
        "--any-kind",
        action="store_true",
        help="also edit YAML that is not a deployable manifest (skaffold, CI, compose, Kargo, "
        "Argo Workflows ...); by default such files are reported, not edited",
    )
    parser.add_argument(
        "--all-or-nothing",
        action="store_true",
        help="write nothing at all when any file cannot be bumped",
    )
    add_json_flag(parser)
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest files; - for stdin")
    parser.set_defaults(func=run)


def _read(name: str) -> str:
    if name == "-":
        buffer = getattr(sys.stdin, "buffer", None)  # bytes, so CRLF survives
        return buffer.read().decode("utf-8") if buffer is not None else sys.stdin.read()
    with open(name, "rb") as handle:  # bytes, decoded at once: CRLF survives
        return handle.read().decode("utf-8")


def _write_stdout(text: str) -> None:
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def _plan_all(args: argparse.Namespace, bump: Bump) -> tuple[list[_Outcome], list[Problem]]:
    """Plan every file before a byte is written: the outcomes of the files that can be
    bumped, and the problems of those that cannot (each such file is left as it is)."""
    from bot.core.manifests import plan_text

    outcomes: list[_Outcome] = []
    problems: list[Problem] = []
    for name in args.files:
        try:
            text = _read(name)
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
            problems.append(Problem(f"cannot read: {exc}", name))
            continue
        label = "<stdin>" if name == "-" else name
        try:
            result = plan_text(
                text,
                bump,
                filename=label,
                yaml_paths=args.yaml_paths,
                any_kind=args.any_kind,
                strict=False,
            )
        except ConfigError as exc:
            problems += exc.problems
            continue
        outcomes.append(_Outcome(name, text, result))
    return outcomes, problems


def _diff(outcome: _Outcome) -> str:
    label = "<stdin>" if outcome.name == "-" else outcome.name
    lines = difflib.unified_diff(
        outcome.original.splitlines(keepends=True),
        outcome.result.text.splitlines(keepends=True),
        fromfile=label if label.startswith("/") else f"a/{label}",
        tofile=label if label.startswith("/") else f"b/{label}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _report_json(
    args: argparse.Namespace, outcomes: list[_Outcome], problems: list[Problem]
) -> None:
    document: dict[str, object] = {
        "image": args.image,
        "written": [o.name for o in outcomes if o.result.edits and o.name != "-" and not args.diff],
        "edits": [edit.to_json() for o in outcomes for edit in o.result.edits],
        "sites": [site.to_json() for o in outcomes for site in o.result.matched],
        "unedited": [u.to_json() for o in outcomes for u in o.result.unedited],
        "problems": [p.render() for p in problems],
    }
    if args.diff:
        document["diff"] = "".join(_diff(o) for o in outcomes)
    elif any(o.name == "-" for o in outcomes):
        document["stdout"] = next(o.result.text for o in outcomes if o.name == "-")
    print_json(document)


def _report_text(args: argparse.Namespace, outcomes: list[_Outcome]) -> None:
    """The diff or the new stdin text on stdout; the list of edits on stdout or stderr."""
    uses_stdout = args.diff or any(o.name == "-" for o in outcomes)
    if args.diff:
        sys.stdout.write("".join(_diff(o) for o in outcomes))
    else:
        for outcome in outcomes:
            if outcome.name == "-":
                _write_stdout(outcome.result.text)
    stream = sys.stderr if uses_stdout else sys.stdout
    edits = [edit for o in outcomes for edit in o.result.edits]
    for edit in edits:
        print(edit.describe(), file=stream)
    if not edits and any(o.result.matched for o in outcomes):
        print(f"{args.image}: already up to date", file=stream)


def _warnings(outcomes: list[_Outcome]) -> list[Problem]:
    return [
        Problem(f"{u.path}: {u.text} not edited: {u.why}", u.file, u.line, u.col, "warning")
        for o in outcomes
        for u in o.result.unedited
    ]


def _write(args: argparse.Namespace, outcomes: list[_Outcome]) -> None:
    """Replace each edited file atomically (see `_replace_files` for what a crash leaves)."""
    if args.diff:
        return
    written = [o for o in outcomes if o.name != "-" and o.result.edits]
    for outcome in written:
        replace_text(outcome.name, outcome.result.text)
    sync_directories(o.name for o in written)


def run(args: argparse.Namespace) -> int:
    from bot.core.manifests import Bump

    if args.tag is None and args.digest is None:
        raise UsageError("bump: give --tag and/or --digest")
    if args.files.count("-") > 1:
        raise UsageError("bump: stdin (-) can be given only once")
    bump = Bump(args.image, tag=args.tag, digest=args.digest, new_name=args.new_name)
    if problems := bump.problems():
        raise UsageError("bump: " + "; ".join(problems))
    outcomes, failed = _plan_all(args, bump)
    if failed and args.all_or_nothing:
        raise ConfigError([*failed, Problem("nothing written (--all-or-nothing)")])
    for problem in [*failed, *_warnings(outcomes)]:
        print(problem.render(), file=sys.stderr)
    if not failed and not any(o.result.matched for o in outcomes):
        found = " in a form that can be edited" if _warnings(outcomes) else ""
        print(
            f"release-train: image {args.image} occurs in none of the files{found}", file=sys.stderr
        )
        return EXIT_CHECK_FAILED
    _write(args, outcomes)
    if args.json:
        _report_json(args, outcomes, failed)
    else:
        _report_text(args, outcomes)
    return EXIT_CHECK_FAILED if failed else EXIT_OK
