"""Property tests: any new value is written so it reads back as the same string."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.manifests import Bump, bump_text, find_images, set_value
from bot.core.manifests.scalar import plain_is_string

from .support import assert_only_edited_lines_changed, assert_reads_back, load_typed

# Contexts an image tag lives in: plain, single- and double-quoted, flow mappings, comments.
TAG_CONTEXTS = [
    "image:\n  repository: ghcr.io/a/b\n  tag: 1.0.0  # note\n",
    "image:\n  repository: ghcr.io/a/b\n  tag: '1.0.0'\n",
    'image:\n  repository: ghcr.io/a/b\n  tag: "1.0.0"\n',
    "image: {repository: ghcr.io/a/b, tag: 1.0.0}\n",
    "images:\n- name: ghcr.io/a/b\n  newTag: 1.0.0\n",
    "spec:\n  containers:\n  - {name: x, image: ghcr.io/a/b:1.0.0}\n",
    "spec:\r\n  containers:\r\n    - name: x\r\n      image: ghcr.io/a/b:1.0.0\r\n",
]
TYPE_CHANGING = [
    "1.10", "1e3", "true", "no", "NO", "y", "n", "on", "0123", "0x1F", "0o17", "1_000",
    "2024-01-15", "null", "Null", "12", "1.0", "True", "off",
]  # fmt: skip
oci_tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}", fullmatch=True)


@pytest.mark.parametrize("tag", TYPE_CHANGING)
def test_type_changing_tags_are_quoted(tag: str) -> None:
    assert not plain_is_string(tag)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tag=st.one_of(oci_tags, st.sampled_from(TYPE_CHANGING)), context=st.sampled_from(TAG_CONTEXTS)
)
@example(tag="1.10", context=TAG_CONTEXTS[0])
def test_any_tag_reads_back_as_that_string(tag: str, context: str) -> None:
    new, edits = bump_text(context, Bump("ghcr.io/a/b", tag=tag))
    if tag == "1.0.0":
        assert (new, edits) == (context, [])
        return
    assert len(edits) == 1
    assert_only_edited_lines_changed(context, new, edits)
    assert_reads_back(new, edits)
    again = bump_text(new, Bump("ghcr.io/a/b", tag=tag))
    assert again == (new, [])


VALUE_CONTEXTS = [
    "a:\n  b: old  # comment\nc: 1\n",
    "a:\n  b: 'old'\n",
    'a:\n  b: "old"\n',
    "a: {b: old, c: [1, 2]}\n",
    "---\nx: 1\n---\na:\n  b: &anchor old\n",
    "a:\n  b:\n  c: 1\n",
    "a:\n  b: # empty, a comment follows\n",
]
# Any text at all (no surrogates): indicators, ": ", " #", quotes, backslashes, newlines...
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=any_text, context=st.sampled_from(VALUE_CONTEXTS))
@example(value="", context=VALUE_CONTEXTS[0])
@example(value="~", context=VALUE_CONTEXTS[0])
@example(value="*x", context=VALUE_CONTEXTS[3])
@example(value="a: b # c", context=VALUE_CONTEXTS[0])
@example(value="it's", context=VALUE_CONTEXTS[1])
@example(value="line\nbreak", context=VALUE_CONTEXTS[1])
def test_set_value_writes_any_string_byte_exactly(value: str, context: str) -> None:
    new, edits = set_value(context, "a.b", value)
    if value == ("old" if "old" in context else ""):
        assert (new, edits) == (context, [])
        return
    assert len(edits) == 1
    assert_only_edited_lines_changed(context, new, edits)
    for version in ((1, 1), (1, 2)):
        docs = load_typed(new, version)
        assert docs[edits[0].document]["a"]["b"] == value


@st.composite
def deployments(draw: st.DrawFn) -> tuple[str, str]:
    """A Deployment written with random formatting; returns (text, image repository)."""
    step = draw(st.sampled_from([2, 4]))
    seq_indent = draw(st.booleans())  # "- " indented under its key, or flush with it
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    quote = draw(st.sampled_from(["", "'", '"']))
    comment = draw(st.sampled_from(["", "  # pinned by the train", " #x"]))
    repo = draw(st.sampled_from(["ghcr.io/acme/app", "nginx", "registry:5000/a/b/c"]))
    tag = draw(st.sampled_from(["1.0.0", "v2", "2024.01.02", "latest"]))
    digest = draw(st.sampled_from(["", "@sha256:" + "0" * 64]))
    image = f"{quote}{repo}:{tag}{digest}{quote}"

    def ind(level: int) -> str:
        return " " * (step * level)

    dash = ind(4) + ("  " if seq_indent else "") if step == 2 else ind(4)
    item = dash[: len(dash) - 2] + "- " if not seq_indent else dash + "- "
    key = " " * len(item)
    lines = [
        draw(st.sampled_from(["", "---", "# leading comment"])),
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata:",
        f"{ind(1)}name: app{comment}",
        "spec:",
        f"{ind(1)}template:",
        f"{ind(2)}spec:",
        f"{ind(3)}containers:",
        f"{item}name: sidecar",
        f"{key}image: busybox:1.36",
        f"{item}name: app",
        f"{key}image: {image}{comment}",
        f"{key}args: [--port, '8080']",
    ]
    return eol.join(lines) + eol, repo


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=deployments(), tag=st.one_of(oci_tags, st.sampled_from(TYPE_CHANGING)))
def test_generated_deployments_change_one_line(case: tuple[str, str], tag: str) -> None:
    text, repo = case
    digest = "sha256:" + "f" * 64 if "@sha256" in text else None
    new, edits = bump_text(text, Bump(repo, tag=tag, digest=digest))
    assert len(edits) == 1
    assert_only_edited_lines_changed(text, new, edits)
    assert_reads_back(new, edits)
    assert new.count("\r\n") == text.count("\r\n")


@st.composite
def values_files(draw: st.DrawFn) -> tuple[str, list[str]]:
    """Helm values or a kustomization for several services, formatted at random."""
    step = " " * draw(st.sampled_from([2, 4]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    services = draw(st.lists(st.sampled_from(["cart", "checkout", "search", "web"]),
                             min_size=1, max_size=4, unique=True))  # fmt: skip
    lines = [draw(st.sampled_from(["# values", "---", ""]))]
    kustomize = draw(st.booleans())
    dash = draw(st.sampled_from(["- ", step + "- "]))  # one sequence style per file
    pad = " " * len(dash)
    if kustomize:
        lines.append("images:")
    for name in services:
        quote = draw(st.sampled_from(["", "'", '"']))
        tag = f"{quote}{draw(st.sampled_from(['1.0', '1.2.3', 'v1']))}{quote}"
        note = draw(st.sampled_from(["", "  # bumped by the train"]))
        if kustomize:
            lines += [f"{dash}name: ghcr.io/acme/{name}{note}", f"{pad}newTag: {tag}{note}"]
        else:
            lines += [f"{name}:", f"{step}image:", f"{step * 2}repository: ghcr.io/acme/{name}",
                      f"{step * 2}tag: {tag}{note}", f"{step}replicas: 2"]  # fmt: skip
    return eol.join(lines) + eol, [f"ghcr.io/acme/{name}" for name in services]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=values_files(), tag=st.one_of(oci_tags, st.sampled_from(TYPE_CHANGING)))
def test_generated_values_change_one_line_per_service(
    case: tuple[str, list[str]], tag: str
) -> None:
    text, images = case
    for image in images:
        current = {s.image.tag for s in find_images(text) if s.image.repository == image}
        new, edits = bump_text(text, Bump(image, tag=tag))
        # bumping to the tag it already has is no edit; any other tag is exactly one
        assert len(edits) == (0 if current == {tag} else 1)
        assert_only_edited_lines_changed(text, new, edits)
        assert_reads_back(new, edits)
        assert new.count("\r\n") == text.count("\r\n")
