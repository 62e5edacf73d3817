"""The manifests gate's bump step: apply a file's bumps as the train will (all or nothing per
file), and list every place that names an image but is not edited - inside a block scalar, in
a document that is not deployable, in a file that does not parse - with FILE:LINE and why, as
`release-train bump` reports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.manifests import Bump, Unedited, find_images, plan_text, same_repository
from bot.errors import ConfigError, Problem

if TYPE_CHECKING:
    from bot.core.gates.manifests import ManifestFile


@dataclass(frozen=True)
class Bumped:
    """What applying one file's bumps gave."""

    text: str | None  # the bumped text; None when a bump could not be applied
    note: str  # e.g. "2 edit(s)", "already at target", "not applied"
    problems: list[Problem]  # what fails the gate
    unedited: tuple[Problem, ...]  # warnings: places that name an image, left as they are


def unedited_problem(place: Unedited) -> Problem:
    """A place left alone as a positioned warning (the CLI's wording)."""
    message = f"{place.path}: {place.text} not edited: {place.why}"
    return Problem(message, place.file, place.line, place.col, "warning")


def _not_applied(problems: Sequence[Problem], path: str) -> tuple[Problem, ...]:
    """The file is left as it is: one warning per reason, at the reason's position."""
    return tuple(
        Problem(f"not edited: {p.message}", p.file or path, p.line, p.col, "warning")
        for p in problems
    )


def apply_bumps(file: ManifestFile, require_bump: bool) -> Bumped:
    text = file.text or ""
    edits = 0
    problems: list[Problem] = []
    unedited: dict[Problem, None] = {}  # in order, each place once (two bumps may find it)
    for bump in file.bumps:
        try:
            result = plan_text(text, bump, filename=file.path, yaml_paths=file.yaml_paths)
        except ConfigError as exc:
            return Bumped(
                None, "not applied", list(exc.problems), _not_applied(exc.problems, file.path)
            )
        text = result.text
        edits += len(result.edits)
        unedited.update(dict.fromkeys(unedited_problem(u) for u in result.unedited))
        if not result.edits and require_bump and not _mentions(text, bump, file):
            problems.append(Problem(f"image {bump.image} does not occur in this file", file.path))
    if not file.bumps:
        return Bumped(text, "nothing to bump", problems, ())
    note = f"{edits} edit(s)" if edits else "already at target"
    places = tuple(sorted(unedited, key=lambda p: (p.line, p.col)))
    return Bumped(text, note if not problems else "image not found", problems, places)


def _mentions(text: str, bump: Bump, file: ManifestFile) -> bool:
    sites = find_images(text, file.path, yaml_paths=file.yaml_paths)
    return any(same_repository(site.repository, bump.image) for site in sites)


def unedited_list(places: Sequence[Problem], limit: int = 100) -> str:
    """The summary's section of places found but not edited (empty when there are none)."""
    if not places:
        return ""
    lines = [f"- `{p.file}:{p.line or 1}` {p.message}" for p in places[:limit]]
    if len(places) > limit:
        lines.append(f"- … and {len(places) - limit} more (see the annotations)")
    return "**Found but not edited** (left as they are):\n\n" + "\n".join(lines)
