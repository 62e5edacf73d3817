"""Garbage in: the updaters either give a verified result or a positioned ConfigError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.manifests import Bump, bump_text, find_images
from bot.errors import ConfigError

PIECES = [
    "image: ", "a/b:1", "\n", "  ", "- ", "containers:", "images:", "name: ", "a/b", "newTag: ",
    "tag: ", "repository: ", "{", "}", "[", "]", ", ", "&x ", "*x", "'", '"', "---\n", "...\n",
    "# c", "|\n", ">-\n", "!!str ", "\r\n", "spec:", "digest: ", "sha256:" + "a" * 64,
    "apiVersion: argoproj.io/v1alpha1\n", "helm:", "parameters:", "value: ", "image.repository",
    "image.tag", "kustomize:", ": ", "%YAML 1.2\n", "\ufeff", "\t",
]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), min_size=1, max_size=30).map("".join)
BUMPS = [
    (Bump("a/b", tag="2"), ()),
    (Bump("a/b", tag="2", digest="sha256:" + "b" * 64), ("image", "x[0].y")),
    (Bump("a/b", new_name="c/d"), ()),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_no_crash_and_no_unverified_write(text: str) -> None:
    try:
        find_images(text)
    except ConfigError as exc:
        assert exc.problems and "internal" not in exc.message
    for bump, paths in BUMPS:
        try:
            new, edits = bump_text(text, bump, yaml_paths=paths)
        except ConfigError as exc:
            assert exc.problems and "internal" not in exc.message
            continue
        assert (new == text) == (not edits)
