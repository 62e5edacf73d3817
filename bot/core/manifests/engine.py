"""Apply every updater to every document of a text: find sites, plan changes, splice them in.

The text is never re-serialised: each change overwrites (or inserts) only its own characters,
and the result is parsed again to prove every changed value reads back as intended.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from bot.core.manifests import argocd, embedded, helm, kustomize, workloads, yaml_path
from bot.core.manifests.deployable import deployable
from bot.core.manifests.locate import (
    Doc,
    chunks,
    parse,
    slot,
    values_at,
)
from bot.core.manifests.model import Bump, BumpResult, Edit, ImageSite, Unedited
from bot.core.manifests.plan import Change, Site, replace
from bot.errors import ConfigError, Problem

_FINDERS = (kustomize.find, argocd.find, workloads.find, helm.find)


def sites_of(
    docs: Sequence[Doc], yaml_paths: Sequence[str] = (), *, any_kind: bool = False
) -> list[Site]:
    """Every site, each scalar claimed by the first updater that recognises it. Only
    deployable documents are searched (all of them with `any_kind`); configured YAML paths
    reach into every document."""
    sites: list[Site] = []
    claimed: set[tuple[int, int]] = set()
    for doc in docs:
        found = _found(doc) if any_kind or deployable(doc) else []
        found += yaml_path.find(doc, yaml_paths)
        # An alias of a value that is itself a site follows that site's edit: not a site again.
        defined = {s.anchor.node_id for s in found if s.anchor.style != "*"}
        for site in found:
            span = (site.anchor.start, site.anchor.end)
            if span in claimed or (site.anchor.style == "*" and site.anchor.node_id in defined):
                continue
            claimed.add(span)
            sites.append(site)
    return sites


def _found(doc: Doc) -> list[Site]:
    return [site for finder in _FINDERS for site in finder(doc)]


def _not_deployable(docs: Sequence[Doc], bump: Bump) -> list[Unedited]:
    """The sites of `bump` in documents that are not deployable, as notes."""
    notes = []
    for doc in docs:
        if deployable(doc):
            continue
        what = doc.root_value("kind") or "build or CI configuration"
        why = f"{what} is not a deployable manifest; name a YAML path to edit it"
        for site in _found(doc):
            if site.matches(bump):
                a = site.anchor
                notes.append(Unedited(doc.filename, a.path, a.line, a.col, str(site.image), why))
    return notes


def _conflict(change: Change, other: Change, filename: str) -> ConfigError:
    message = f"{change.path}: two bumps or updaters disagree ({other.new!r} vs {change.new!r})"
    return ConfigError(Problem(message, filename, change.line, change.col))


def splice(text: str, changes: Sequence[Change], filename: str = "") -> str:
    """Write every change into `text`; identical duplicates collapse, overlaps are refused."""
    ordered: list[Change] = []
    for change in sorted(changes, key=lambda c: (c.start, c.end, c.inserted)):
        last = ordered[-1] if ordered else None
        if last is not None and (last.start, last.end, last.text) == (
            change.start,
            change.end,
            change.text,
        ):
            continue
        if last is not None and change.start < last.end:
            raise _conflict(change, last, filename)
        if (
            last is not None
            and change.inserted
            and last.inserted
            and (change.start, change.path) == (last.start, last.path)
        ):
            raise _conflict(change, last, filename)
        ordered.append(change)
    pieces: list[str] = []
    cursor = 0
    for change in ordered:
        pieces += [text[cursor : change.start], change.text]
        cursor = change.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _targets(changes: Sequence[Change]) -> list[tuple[int, Change]]:
    """Where each change's value starts in the new text."""
    shift = 0
    found = []
    for change in sorted(changes, key=lambda c: (c.start, c.end)):
        found.append((change.start + shift + change.value_at, change))
        shift += len(change.text) - (change.end - change.start)
    return found


def _verify(new_text: str, changes: Sequence[Change], filename: str) -> None:
    """Parse the changed parts of the result; each changed value must read back as intended."""
    targets = _targets(changes)
    wanted = {at for at, _ in targets}
    values: dict[int, object] = {}
    for chunk in chunks(new_text):
        if any(chunk.start <= at < chunk.end for at in wanted):
            values.update(values_at(new_text, filename, chunk, wanted))
    for at, change in targets:
        if values.get(at) != change.new:
            message = f"{change.path}: writing {change.new!r} did not read back (internal error)"
            raise ConfigError(Problem(message, filename, change.line, change.col))


def _edits(changes: Sequence[Change], filename: str) -> list[Edit]:
    seen: set[tuple[int, int, str]] = set()
    edits = []
    for c in sorted(changes, key=lambda c: (c.start, c.end)):
        if (c.start, c.end, c.text) in seen:
            continue
        seen.add((c.start, c.end, c.text))
        edits.append(
            Edit(filename, c.path, c.line, c.col, c.old, c.new, c.kind, c.document, c.inserted)
        )
    return edits


def _unique(changes: list[Change]) -> list[Change]:
    seen: set[tuple[int, int, str]] = set()
    out = []
    for c in changes:
        if (c.start, c.end, c.text) not in seen:
            seen.add((c.start, c.end, c.text))
            out.append(c)
    return out


def _mentions(images: Sequence[str]) -> Callable[[str], bool]:
    """A quick test that a document's text can hold one of these images at all: every
    spelling of a repository (``nginx``, ``docker.io/library/nginx``, a Helm
    registry/repository split, a kustomize name or newName) contains its last path component."""
    return _mentions_of(tuple(sorted({image.rstrip("/").rsplit("/", 1)[-1] for image in images})))


@lru_cache(maxsize=64)  # built once for a bump over many files
def _mentions_of(names: tuple[str, ...]) -> Callable[[str], bool]:
    pattern = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE)
    return lambda chunk: pattern.search(chunk) is not None


def plan_many(
    text: str,
    bumps: Sequence[Bump],
    *,
    filename: str = "",
    yaml_paths: Mapping[str, Sequence[str]] | None = None,
    skim: bool = False,
    any_kind: bool = False,
    strict: bool = True,
) -> BumpResult:
    """Apply several bumps to one text in one pass (one parse, one splice, one check).

    `yaml_paths` maps a bump's `image` to the extra YAML paths configured for it. Two bumps
    that would write different values into the same place raise ConfigError.

    `strict` (what a stage needs to stay all-or-nothing: one commit or none) parses every
    text whole, so a broken document anywhere fails the call; the documents that cannot name
    any of the images (no spelling of a repository leaves out its last path component) are
    only parsed, not searched. With `skim` or without `strict`, a broken document that cannot
    name them is skipped instead of failing the call; without `strict`, a whole text that
    cannot name them is returned untouched without being parsed at all.

    Only deployable documents are edited (see `deployable`); with `any_kind`, every one. The
    sites left alone in the others are reported in `BumpResult.unedited`.
    """
    paths_for = yaml_paths or {}
    problems = [Problem(f"{b.image}: {p}", filename) for b in bumps for p in b.problems()]
    if problems:
        raise ConfigError(problems)
    any_paths = any(paths_for.get(b.image) for b in bumps)
    mentions = _mentions([b.image for b in bumps]) if bumps and not any_paths else None
    if not strict and mentions is not None and not mentions(text):
        return BumpResult(text, (), ())
    docs = parse(text, filename, wanted=mentions, check=strict and not skim)
    matched: list[Site] = []
    changes: list[Change] = []
    unedited: list[Unedited] = []
    for bump in bumps:
        all_sites = sites_of(docs, paths_for.get(bump.image, ()), any_kind=any_kind)
        sites = [s for s in all_sites if s.matches(bump)]
        if not any_kind:
            unedited += _not_deployable(docs, bump)
        matched += sites
        changes += [change for site in sites for change in site.planner(bump)]
        claimed = [(s.anchor.start, s.anchor.end) for s in all_sites]
        unedited += [u for doc in docs for u in embedded.find(doc, bump.image, claimed)]
    changes = _unique(changes)
    reports = tuple(s.report() for s in matched)
    if not changes:
        return BumpResult(text, (), reports, tuple(unedited))
    new_text = splice(text, changes, filename)
    _verify(new_text, changes, filename)
    return BumpResult(new_text, tuple(_edits(changes, filename)), reports, tuple(unedited))


def plan_text(
    text: str,
    bump: Bump,
    *,
    filename: str = "",
    yaml_paths: Sequence[str] = (),
    skim: bool = False,
    any_kind: bool = False,
    strict: bool = True,
) -> BumpResult:
    """Bump `bump.image` everywhere in `text`; also report every site that matched.
    `skim`, `any_kind` and `strict` as in `plan_many`."""
    paths = {bump.image: yaml_paths} if yaml_paths else None
    return plan_many(
        text,
        [bump],
        filename=filename,
        yaml_paths=paths,
        skim=skim,
        any_kind=any_kind,
        strict=strict,
    )


def bump_text(
    text: str,
    bump: Bump,
    *,
    filename: str = "",
    yaml_paths: Sequence[str] = (),
    skim: bool = False,
    any_kind: bool = False,
) -> tuple[str, list[Edit]]:
    """Apply every updater to every document; no edits means the image is not there (or is
    already at the target). `skim` and `any_kind` as in `plan_many`."""
    result = plan_text(
        text, bump, filename=filename, yaml_paths=yaml_paths, skim=skim, any_kind=any_kind
    )
    return result.text, list(result.edits)


def find_images(
    text: str, filename: str = "", *, yaml_paths: Sequence[str] = (), any_kind: bool = False
) -> list[ImageSite]:
    """Every image site of every deployable document (every document with `any_kind`), in
    document order."""
    docs = parse(text, filename)
    return [site.report() for site in sites_of(docs, yaml_paths, any_kind=any_kind)]


def set_value(text: str, path: str, value: str, *, filename: str = "") -> tuple[str, list[Edit]]:
    """Set the scalar(s) a YAML path reaches to `value` (any string), byte-exactly."""
    changes: list[Change] = []
    for doc in parse(text, filename):
        for visit in yaml_path.resolve(doc, path):
            located = slot(doc, visit)
            if located is None:
                raise ConfigError(Problem(f"YAML path {path!r} names a mapping or list", filename))
            changes += replace(doc, located, value, "yaml_path")
    if not changes:
        return text, []
    new_text = splice(text, changes, filename)
    _verify(new_text, changes, filename)
    return new_text, _edits(changes, filename)
