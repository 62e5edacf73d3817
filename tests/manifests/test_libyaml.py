"""libyaml (PyYAML's C loader) locates exactly what ruamel.yaml's pure parser locates: the same
scalars at the same character offsets, with the same values and styles, on every corpus file."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus import CORPUS, needs_corpus

from bot.core.manifests.compose import Chunk, chunks, compose_libyaml
from bot.core.manifests.locate import Doc, make_doc, slot

from .support import TRICKY, corpus_files, read


def _pure(piece: str) -> list[object]:
    import warnings

    from ruamel.yaml import YAML

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(YAML(typ="safe", pure=True).compose_all(piece))


def _slots(text: str, compose: object) -> list[tuple[object, ...]]:
    found = []
    for chunk in chunks(text):
        roots = compose(text[chunk.start : chunk.end])  # type: ignore[operator]
        assert roots is not None, chunk
        for root in roots:
            if root is None:
                continue
            doc: Doc = make_doc(text, "f", 0, root, Chunk(chunk.start, chunk.end, chunk.line, True))
            for visit in doc.visits:
                located = slot(doc, visit)
                if located is not None:
                    found.append((located.path, located.start, located.end, located.value))
                    found.append((located.style, located.line, located.col, located.in_flow))
    return found


def _compare(path: Path) -> None:
    text = read(path)
    if text.startswith("\ufeff"):
        assert compose_libyaml(text) is None  # the pure parser handles a byte-order mark
        return
    assert _slots(text, compose_libyaml) == _slots(text, _pure)


def test_libyaml_is_there() -> None:
    import yaml

    assert yaml.__with_libyaml__, "PyYAML was built without libyaml: locating falls back to pure"
    assert compose_libyaml("a: [1, {b: c}]\n") is not None


TRICKY_FILES = [p for p in corpus_files(TRICKY) if not p.name.startswith("refused-")]


@pytest.mark.parametrize("path", TRICKY_FILES, ids=[p.name for p in TRICKY_FILES])
def test_libyaml_and_pure_parser_agree_on_tricky_files(path: Path) -> None:
    _compare(path)


@needs_corpus
def test_libyaml_and_pure_parser_agree_on_the_corpus() -> None:
    files = corpus_files(CORPUS)
    for path in files:
        _compare(path)
    assert len(files) > 100


def test_what_libyaml_refuses_the_pure_parser_decides() -> None:
    from bot.core.manifests import Bump, plan_text

    text = "a: &x ghcr.io/a/b:1\nb: &x other\nimage: ghcr.io/a/b:1\n"  # a reused anchor
    assert compose_libyaml(text) is None
    assert plan_text(text, Bump("ghcr.io/a/b", tag="2")).text.endswith("image: ghcr.io/a/b:2\n")


def test_yaml_1_1_line_breaks_are_left_to_the_pure_parser() -> None:
    from bot.core.manifests import Bump, plan_text

    for odd in ("\x85", "\u2028", "\u2029"):
        text = f"note: 'a{odd}b'\nimage: ghcr.io/a/b:1\n"
        assert compose_libyaml(text) is None
        result = plan_text(text, Bump("ghcr.io/a/b", tag="2"))
        assert result.text == text.replace("b:1", "b:2")


def _pure_values(text: str) -> dict[int, object]:
    """Every scalar of the text that has a token, by where the token starts (anchor and tag
    skipped), composed by the pure parser. An empty plain scalar (``key:`` with nothing after
    it) has no token, and the parsers place it differently; a bump never writes one."""
    from bot.core.manifests.compose import skip_properties

    found: dict[int, object] = {}
    for chunk in chunks(text):
        stack = list(_pure(text[chunk.start : chunk.end]))
        while stack:
            node = stack.pop()
            if node is None:
                continue
            first = chunk.start + node.start_mark.index  # type: ignore[attr-defined]
            if node.id == "scalar":  # type: ignore[attr-defined]
                at = skip_properties(text, first, len(text))
                if node.value or node.style:  # type: ignore[attr-defined]
                    found[at] = node.value  # type: ignore[attr-defined]
            elif node.id == "mapping":  # type: ignore[attr-defined]
                stack.extend(part for pair in node.value for part in pair)  # type: ignore[attr-defined]
            else:
                stack.extend(node.value)  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("path", TRICKY_FILES, ids=[p.name for p in TRICKY_FILES])
def test_the_read_back_check_reads_what_the_pure_parser_reads(path: Path) -> None:
    """The bump's read-back check (libyaml's parse events, no node graph) sees the same value
    at every scalar as the pure parser does."""
    from bot.core.manifests.compose import values_at

    text = read(path)
    expected = _pure_values(text)
    wanted = set(expected)
    seen: dict[int, object] = {}
    for chunk in chunks(text):
        seen.update(values_at(text, "f", chunk, wanted))
    assert seen == expected and len(expected) > 0


def test_a_value_that_does_not_read_back_is_refused() -> None:
    """A planned write whose result parses to another value (here: a tag that YAML reads as
    the start of a comment) is an error, and nothing is written."""
    from bot.core.manifests.engine import _verify
    from bot.core.manifests.plan import Change
    from bot.errors import ConfigError

    new_text = "image: ghcr.io/a/b #2\n"
    change = Change(
        7, 21, "ghcr.io/a/b #2", "ghcr.io/a/b #2", "ghcr.io/a/b:1", "tag", "image", 1, 8, 0
    )
    with pytest.raises(ConfigError, match="did not read back"):
        _verify(new_text, [change], "f.yaml")
    good = "image: ghcr.io/a/b:2\n"
    _verify(
        good, [Change(7, 20, "ghcr.io/a/b:2", "ghcr.io/a/b:2", "x", "tag", "image", 1, 8, 0)], "f"
    )


def test_a_write_that_breaks_the_text_after_the_value_is_refused() -> None:
    """The read-back check builds events only up to the last changed value, but the whole
    text must still parse: a write whose value reads back but which breaks the YAML further
    down is refused with the parse error's position, and nothing is written."""
    from bot.core.manifests.engine import _verify
    from bot.core.manifests.plan import Change
    from bot.errors import ConfigError

    tail = "".join(f"key{i}: value{i}\n" for i in range(50))
    new_text = "image: ghcr.io/a/b:2\nbroken: [1, 2\n" + tail
    change = Change(
        7, 20, "ghcr.io/a/b:2\nbroken: [1, 2", "ghcr.io/a/b:2", "x", "tag", "image", 1, 8, 0
    )
    with pytest.raises(ConfigError, match="does not parse") as caught:
        _verify(new_text, [change], "f.yaml")
    assert caught.value.problems[0].line > 2
    _verify(new_text.replace("[1, 2", "[1, 2]"), [change], "f.yaml")  # the same, well formed


@needs_corpus
def test_the_read_back_check_reads_the_corpus_as_the_pure_parser_does() -> None:
    from bot.core.manifests.compose import values_at

    files = [p for p in corpus_files(CORPUS) if not read(p).startswith("\ufeff")]
    for path in files:
        text = read(path)
        expected = _pure_values(text)
        seen: dict[int, object] = {}
        for chunk in chunks(text):
            seen.update(values_at(text, "f", chunk, set(expected)))
        assert seen == expected, path
    assert len(files) > 100
