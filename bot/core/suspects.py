"""Suspects of an SLO breach: the train's PRs ranked by evidence (pure).

The revert after a breach stays whole-train; the incident then says which PRs most likely
caused it: those that changed a breaching service's paths (`services[].paths`) first, then
the larger changes (lines added + deleted), then those whose labels look risky.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config.model import Service
from bot.core import untrusted

# labels that raise a PR in the ranking (lower-cased substrings)
RISKY = ("risk", "migration", "breaking", "database", "infra", "config")


@dataclass(frozen=True)
class FileChange:
    path: str
    lines: int  # additions + deletions


@dataclass(frozen=True)
class Suspect:
    number: int
    title: str
    services: tuple[str, ...]  # breaching services whose paths the PR changed
    lines: int
    risky: tuple[str, ...]  # labels that count against it


def rank(
    pulls: Sequence[tuple[int, str, tuple[str, ...]]],  # (number, title, labels)
    files: Mapping[int, Sequence[FileChange]],
    breaching: Iterable[str],
    services: Sequence[Service],
) -> list[Suspect]:
    """The train's PRs, most suspect first: touching a breaching service, then lines
    changed, then risky labels, then the PR number (a stable order)."""
    paths = {s.name: s.paths for s in services if s.name in set(breaching)}
    found = []
    for number, title, labels in pulls:
        changes = files.get(number, ())
        hit = tuple(
            name
            for name, globs in sorted(paths.items())
            if any(fnmatchcase(c.path, g) for c in changes for g in globs)
        )
        risky = tuple(lb for lb in labels if any(word in lb.lower() for word in RISKY))
        found.append(Suspect(number, title, hit, sum(c.lines for c in changes), risky))
    return sorted(found, key=lambda s: (-len(s.services), -s.lines, -len(s.risky), s.number))


def section(suspects: Sequence[Suspect]) -> str:
    """The incident's "Suspects" section."""
    if not suspects:
        return ""
    lines = [
        "### Suspects",
        "",
        "| rank | PR | breaching services it changed | lines | risky labels |",
        "|---|---|---|---|---|",
    ]
    for i, s in enumerate(suspects, 1):
        touched = ", ".join(f"`{n}`" for n in s.services) or "none"
        labels = untrusted.cell(", ".join(s.risky)) if s.risky else "none"
        title = untrusted.cell(s.title)
        lines.append(f"| {i} | #{s.number} {title} | {touched} | {s.lines} | {labels} |")
    lines += [
        "",
        f"To ship the rest of the train without one: `/train retry without #{suspects[0].number}`"
        " here or on the train PR (maintain permission or the release team).",
    ]
    return "\n".join(lines)
