"""Images named inside block scalars: found, reported with their position, never edited.

A KRM function annotation (``config.kubernetes.io/function: |``), an inline kustomize patch or a
ConfigMap holding YAML carries an image as text inside another YAML text. Editing it would
mean parsing that inner text with its own rules (and templates), so the updater reports each
such place with FILE:LINE:COL and why, and leaves it to a person.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator

from bot.core.manifests.image import looks_like_image, parse_image, same_repository
from bot.core.manifests.locate import Doc
from bot.core.manifests.model import Unedited

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:@]*[A-Za-z0-9]")
_WHY_BLOCK = "inside a block scalar (| or >), which holds text, not YAML the updater edits"
_WHY_MULTILINE = "inside a multi-line scalar, which the updater does not rewrite"


def _scalars(doc: Doc, claimed: Collection[tuple[int, int]]) -> Iterator[tuple[str, int, int, str]]:
    """(path, start, end, why) of each block or multi-line scalar that is not itself a site."""
    for visit in doc.visits:  # every node: the cheapest tests first
        node = visit.node
        if node.id != "scalar" or visit.alias:
            continue
        style = node.style or ""
        if style not in ("|", ">") and "\n" not in node.value:
            continue
        start, end = doc.offset(node.start_mark), doc.offset(node.end_mark)
        if any(start <= a < end for a, _ in claimed):
            continue
        yield visit.path, start, end, _WHY_BLOCK if style in ("|", ">") else _WHY_MULTILINE


def find(doc: Doc, image: str, claimed: Collection[tuple[int, int]] = ()) -> list[Unedited]:
    """Every reference to `image` inside a block scalar of `doc` (not inside a claimed site)."""
    text = doc.text
    found: list[Unedited] = []
    for path, start, end, why in _scalars(doc, claimed):
        for match in _TOKEN.finditer(text, start, end):
            token = match.group()
            if not looks_like_image(token):
                continue
            if not same_repository(parse_image(token).repository, image):
                continue
            at = match.start()
            line = text.count("\n", 0, at) + 1
            col = at - (text.rfind("\n", 0, at) + 1) + 1
            found.append(Unedited(doc.filename, path, line, col, token, why))
    return found
