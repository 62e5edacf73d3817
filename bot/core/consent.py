"""Two-party consent: a train may write into another repository only when that repository
accepts trains from this one, and (for the App) the operator allows the pair (issue 27).

A stage's `repository:` is written by an admin of *this* repository; the repository it
names has its own admins. So the target's own configuration (its `accept_from:` list, read
from its default branch) must name this repository, and the operator's allowlist (App
mode) must allow the pair. Anything else refuses the configuration before a write is made.

Pure: texts and answers in, the repositories involved and the refusals out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config.model import Config

FULL_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")

# Does the operator allow trains of `source` to write into `target`? None: no operator
# layer (the Action and the CLI run with a token their own repository's admins gave).
OperatorPolicy = Callable[[str, str], bool]


@dataclass(frozen=True)
class Acceptance:
    """What another repository's configuration says about whom it accepts trains from."""

    accepts: tuple[str, ...] = ()
    problem: str = ""  # why it accepts nobody ("" when its file was read and understood)


def other_repositories(config: Config, repo: str) -> tuple[str, ...]:
    """The repositories other than `repo` that stages write to, in stage order, once each."""
    here = repo.lower()
    found = [s.repository for s in config.stages if s.repository and s.repository.lower() != here]
    return tuple(dict.fromkeys(found))


def acceptance_from(data: object, where: str) -> Acceptance:
    """`accept_from` of a loaded configuration mapping; only that key is read (a GitOps
    repository without trains of its own may hold nothing else)."""
    if not isinstance(data, Mapping):
        return Acceptance(problem=f"{where} is not a mapping")
    raw = data.get("accept_from")
    if raw is None:
        return Acceptance(problem=f"{where} has no `accept_from`")
    if not isinstance(raw, list) or not all(isinstance(x, str) and FULL_NAME.match(x) for x in raw):
        return Acceptance(problem=f"{where}: `accept_from` must be a list of owner/name")
    return Acceptance(tuple(raw))


@dataclass(frozen=True)
class Refusal:
    stage_index: int
    target: str
    message: str


def refusals(
    config: Config,
    repo: str,
    answers: Mapping[str, Acceptance],
    operator: OperatorPolicy | None,
) -> tuple[Refusal, ...]:
    """Each stage writing into another repository without both consents, with why."""
    out: list[Refusal] = []
    here = repo.lower()
    for index, stage in enumerate(config.stages):
        target = stage.repository
        if not target or target.lower() == here:
            continue
        why = _why_refused(repo, target, answers.get(target), operator)
        if why:
            out.append(Refusal(index, target, f"stage `{stage.name}` may not write to {why}"))
    return tuple(out)


def _why_refused(
    repo: str, target: str, answer: Acceptance | None, operator: OperatorPolicy | None
) -> str:
    if operator is not None and not operator(repo, target):
        return f"{target}: the operator does not allow trains of {repo} to write there"
    if answer is None:
        return f"{target}: its configuration was not read"
    if answer.problem:
        return f"{target}: it has not accepted trains from {repo} ({answer.problem})"
    if repo.lower() not in {a.lower() for a in answer.accepts}:
        listed = ", ".join(answer.accepts) or "nobody"
        return f"{target}: its `accept_from` lists {listed}, not {repo}"
    return ""


def parse_operator_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """`source->target` pairs (fnmatch patterns, comma or space separated); ValueError
    naming the first malformed one."""
    pairs = []
    for item in re.split(r"[,\s]+", text.strip()):
        if not item:
            continue
        source, arrow, target = item.partition("->")
        if not arrow or "/" not in source or "/" not in target:
            raise ValueError(f"{item!r} is not source->target (owner/name patterns)")
        pairs.append((source.lower(), target.lower()))
    return tuple(pairs)


def operator_policy(pairs: tuple[tuple[str, str], ...]) -> OperatorPolicy:
    """The operator's allowlist as a predicate: some pair matches both names."""

    def allows(source: str, target: str) -> bool:
        s, t = source.lower(), target.lower()
        return any(fnmatchcase(s, ps) and fnmatchcase(t, pt) for ps, pt in pairs)

    return allows
