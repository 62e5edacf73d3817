"""CODEOWNERS: parse the file and find the owners of a path, as GitHub does.

GitHub's rules (docs "About code owners"): one `pattern owner...` per line, `#` starts a
comment (also after the owners), the LAST matching rule wins, a rule with no owners makes
its paths unowned. Patterns follow gitignore, except that `!` negation, `[ ]` ranges and
`\\#` escapes do not work, and `dir/*` matches only the files directly in `dir`.
Owners are `@user`, `@org/team` or an e-mail address. A line GitHub would reject is skipped
and reported as a `Problem` with its line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core.gates import pathglob as pg
from bot.core.gates.pathglob import Glob
from bot.errors import Problem

_OWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?(?:/[\w.-]+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TOKEN = re.compile(r"(?:\\ |\S)+")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: the pattern, its owners (lower-case, with `@`) and where it is."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    glob: Glob = field(compare=False, repr=False)

    def matches(self, path: str) -> bool:
        return self.glob.match(path.lstrip("/"))


@dataclass(frozen=True)
class Codeowners:
    rules: tuple[Rule, ...] = ()
    problems: tuple[Problem, ...] = ()

    def rule_for(self, path: str) -> Rule | None:
        """The last rule matching `path`, or None."""
        for rule in reversed(self.rules):
            if rule.matches(path):
                return rule
        return None

    def owners_of(self, path: str) -> tuple[str, ...]:
        """Owners of `path`; empty when no rule matches or the matching rule has no owners."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()


def parse_codeowners(text: str, filename: str = ".github/CODEOWNERS") -> Codeowners:
    rules: list[Rule] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(_strip_comment(raw))]
        if not tokens:
            continue
        (pattern, _), owner_tokens = tokens[0], tokens[1:]
        problem = _pattern_problem(pattern)
        bad_owner = next(((o, c) for o, c in owner_tokens if not _valid_owner(o)), None)
        if problem is None and bad_owner is not None:
            problem, col = f"invalid owner {bad_owner[0]!r}", bad_owner[1] + 1
        else:
            col = 1
        if problem is not None:
            problems.append(Problem(f"CODEOWNERS: {problem}; line skipped", filename, number, col))
            continue
        owners = tuple(o.lower() for o, _ in owner_tokens)
        rules.append(Rule(pattern, owners, number, compile_pattern(pattern)))
    return Codeowners(tuple(rules), tuple(problems))


def _strip_comment(line: str) -> str:
    if line.lstrip().startswith("#"):
        return ""
    match = re.search(r"\s#", line)
    return line[: match.start()] if match else line


def _pattern_problem(pattern: str) -> str | None:
    if pattern.startswith("!"):
        return f"negated pattern {pattern!r} is not supported by GitHub"
    if "[" in pattern or "]" in pattern:
        return f"character ranges in {pattern!r} are not supported by GitHub"
    return None


def _valid_owner(owner: str) -> bool:
    return bool(_OWNER.match(owner) or _EMAIL.match(owner))


def compile_pattern(pattern: str) -> Glob:
    """A matcher over repository-relative file paths for a CODEOWNERS pattern, linear in
    the path and the pattern (`bot.core.gates.pathglob`): a pattern is untrusted input."""
    body = pattern.replace("\\ ", " ")
    anchored = body.startswith("/")
    body = body.lstrip("/")
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = anchored or "/" in body
    if body in ("", "**"):
        return Glob(pattern, (pg.PLUS,))
    prefix = () if anchored else (pg.DIRS,)
    if dir_only:
        suffix: tuple[str, ...] = ("/", pg.PLUS)
    elif body.endswith("/*"):  # `docs/*`: files directly in docs, not deeper (GitHub)
        suffix = ()
    else:
        suffix = (pg.SUB,)
    return Glob(pattern, (*prefix, *_elements(body), *suffix))


def _elements(body: str) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i) and (i == 0 or body[i - 1] == "/"):
            out.append(pg.DIRS)
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out += ["/", pg.ANY]
            i += 3
        elif body[i] == "*":
            while i < len(body) and body[i] == "*":
                i += 1
            out.append(pg.STAR)
        elif body[i] == "?":
            out.append(pg.ONE)
            i += 1
        else:
            out.append(body[i])
            i += 1
    return out
