"""Every image site of the real-world corpus and of the tricky corpus bumps byte-exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import CORPUS, needs_corpus

from bot.core.manifests import Bump, ImageSite, bump_text, find_images

from .support import (
    TRICKY,
    assert_only_edited_lines_changed,
    assert_reads_back,
    corpus_files,
    read,
)

NEW_DIGEST = "sha256:" + "c0ffee" * 10 + "abcd"
CORPUS_FILES = corpus_files(CORPUS)
TRICKY_FILES = [p for p in corpus_files(TRICKY) if not p.name.startswith("refused-")]


def _ids(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def _by_repository(sites: list[ImageSite]) -> dict[str, list[ImageSite]]:
    groups: dict[str, list[ImageSite]] = {}
    for site in sites:
        if site.repository:
            groups.setdefault(site.image.normalized, []).append(site)
    return groups


def _check_file(path: Path, tag: str, *, always_digest: bool = False) -> int:
    """Bump every image of the file in turn; returns how many bumps were checked."""
    text = read(path)
    checked = 0
    for sites in _by_repository(find_images(text, path.name)).values():
        pinned = always_digest or any(s.digest for s in sites)
        bump = Bump(sites[0].repository, tag=tag, digest=NEW_DIGEST if pinned else None)
        new, edits = bump_text(text, bump, filename=path.name)
        assert edits, (path, sites)
        # one edited line per site, nothing else in the file moves
        assert len({e.line for e in edits}) >= len(sites)
        assert_only_edited_lines_changed(text, new, edits)
        assert_reads_back(new, edits)
        again, more = bump_text(new, bump, filename=path.name)
        assert (again, more) == (new, [])
        checked += 1
    return checked


@needs_corpus
def test_the_corpus_is_there() -> None:
    assert len(CORPUS_FILES) > 100, f"expected the shared corpus at {CORPUS}"


@needs_corpus
@pytest.mark.parametrize("path", CORPUS_FILES, ids=_ids(CORPUS_FILES, CORPUS))
def test_real_world_corpus_bumps_change_only_the_value(path: Path) -> None:
    _check_file(path, "1.10")


@needs_corpus
def test_real_world_corpus_has_many_sites() -> None:
    total = sum(len(find_images(read(p), p.name, any_kind=True)) for p in CORPUS_FILES)
    assert total >= 100
    deployable = sum(len(find_images(read(p), p.name)) for p in CORPUS_FILES)
    assert deployable >= 90


@needs_corpus
def test_build_and_compose_files_of_the_corpus_are_not_deployable() -> None:
    for name in (
        "GoogleCloudPlatform+microservices-demo/skaffold.yaml",
        "stefanprodan+podinfo/otel/docker-compose.yaml",
    ):
        text = read(CORPUS / name)
        assert find_images(text, name) == [] and find_images(text, name, any_kind=True)


@needs_corpus
def test_real_world_corpus_each_site_is_one_line() -> None:
    path = CORPUS / "stefanprodan+podinfo/deploy/bases/frontend/cronjob-warm-cache.yaml"
    text = read(path)
    sites = find_images(text, path.name)
    assert [s.line for s in sites] == [26, 46]
    new, edits = bump_text(text, Bump("ghcr.io/stefanprodan/podinfo", tag="6.15.0"))
    assert [e.line for e in edits] == [26, 46]
    assert new == text.replace("podinfo:6.14.1", "podinfo:6.15.0")


@pytest.mark.parametrize("path", TRICKY_FILES, ids=_ids(TRICKY_FILES, TRICKY))
@pytest.mark.parametrize("tag", ["1.10", "v2.0.0-rc.1", "true", "0123"])
def test_tricky_corpus_bumps_change_only_the_value(path: Path, tag: str) -> None:
    assert _check_file(path, tag) >= 1


@pytest.mark.parametrize("path", CORPUS_FILES + TRICKY_FILES, ids=str)
def test_bumping_to_the_current_value_changes_nothing(path: Path) -> None:
    text = read(path)
    for sites in _by_repository(find_images(text, path.name)).values():
        values = {(s.tag, s.digest) for s in sites}
        if len(values) != 1 or values == {(None, None)}:
            continue  # the same image at different versions: no single "current value"
        ((tag, digest),) = values
        bump = Bump(sites[0].repository, tag=tag, digest=digest)
        assert bump_text(text, bump, filename=path.name) == (text, [])


@pytest.mark.parametrize("path", TRICKY_FILES, ids=_ids(TRICKY_FILES, TRICKY))
def test_tricky_corpus_tag_and_digest_bumps(path: Path) -> None:
    assert _check_file(path, "3.0.0", always_digest=True) >= 1
