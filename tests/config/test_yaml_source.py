"""Safe YAML reading: positions for every key and item, and every bad input a Problem."""

from __future__ import annotations

from bot.config.yaml_source import MAX_BYTES, position_of, read_yaml


def _problems(source: str | bytes) -> list[tuple[int, int, str]]:
    doc, problems = read_yaml(source, "f.yml")
    assert doc is None
    return [(p.line, p.col, p.message) for p in problems]


def test_positions_of_keys_items_and_values() -> None:
    doc, problems = read_yaml("a: 1\nb:\n  - x: 2\n    y: [3, 4]\n", "f.yml")
    assert not problems and doc is not None
    assert doc.data == {"a": 1, "b": [{"x": 2, "y": [3, 4]}]}
    assert doc.where(("a",)) == (1, 1)
    assert doc.where(("a",), value=True) == (1, 4)
    assert doc.where(("b", 0, "y")) == (4, 5)
    assert doc.where(("b", 0, "y", 1)) == (4, 12)
    # A path that is not written falls back to its nearest written ancestor.
    assert doc.where(("b", 0, "zzz")) == (3, 5)
    assert doc.where(()) == (1, 1)


def test_position_of_on_ruamel_nodes() -> None:
    from ruamel.yaml import YAML

    node = YAML().load("top:\n  key: 1\n  list:\n    - a\n    - b\n")
    assert position_of(node, "top") == (1, 1)
    assert position_of(node["top"], "key") == (2, 3)
    assert position_of(node["top"]["list"], 1) == (5, 7)
    assert position_of({"plain": "dict"}, "plain") == (1, 1)


def test_scalars_become_plain_values() -> None:
    doc, _ = read_yaml("d: 2026-12-20\nt: '09:00'\nu: 09:00\nb: true\nf: 1.5\nn: ~\ny: yes\n", "f")
    assert doc is not None
    assert doc.data == {
        "d": "2026-12-20",
        "t": "09:00",
        "u": "09:00",
        "b": True,
        "f": 1.5,
        "n": None,
        "y": "yes",
    }
    assert type(doc.data["b"]) is bool and type(doc.data["f"]) is float


def test_merge_keys_and_small_aliases_are_fine() -> None:
    doc, problems = read_yaml("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\nagain: *b\n", "f")
    assert not problems and doc is not None
    assert doc.data["use"] == {"x": 1, "y": 2}
    assert doc.data["again"] == {"x": 1}


def test_too_big() -> None:
    [(line, col, message)] = _problems(b"a: 1\n" + b"#" * MAX_BYTES)
    assert (line, col) == (1, 1) and "1 MiB" in message


def test_not_utf8_points_at_the_byte() -> None:
    assert _problems(b"a: 1\nb: \xc3\xa9\xff\n") == [
        (2, 5, "file is not UTF-8: byte 0xff cannot be decoded")
    ]


def test_lone_surrogate_in_text() -> None:
    assert _problems("a: '\udcff'\n")[0][:2] == (1, 5)


def test_byte_order_mark_is_accepted() -> None:
    doc, problems = read_yaml("\ufeffa: 1\n".encode(), "f")
    assert not problems and doc is not None and doc.data == {"a": 1}


def test_empty_and_comment_only_files() -> None:
    for text in ["", "\n\n", "# just a comment\n", "---\n...\n"]:
        [(line, col, message)] = _problems(text)
        assert (line, col) == (1, 1) and "empty" in message


def test_every_tab_indent_is_reported() -> None:
    found = _problems("a:\n\tb: 1\n  \tc: 2\n")
    assert [(line, col) for line, col, _ in found] == [(2, 1), (3, 3)]
    assert all("tab" in message for _, _, message in found)


def test_tab_inside_a_value_is_not_indentation() -> None:
    doc, problems = read_yaml('a: "x\ty"\nb: |\n  line\n  \twith tab\nc: [1,\n\t2]\n', "f")
    assert not problems and doc is not None
    assert doc.data == {"a": "x\ty", "b": "line\n\twith tab\n", "c": [1, 2]}


def test_every_duplicate_key_positioned_at_the_repeat() -> None:
    assert _problems("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n") == [
        (4, 3, 'found duplicate key "c" (first at line 3)'),
        (5, 1, 'found duplicate key "a" (first at line 1)'),
    ]


def test_alias_bomb_is_refused() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 8):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    [(_, _, message)] = _problems("\n".join(lines) + "\n")
    assert "alias" in message


def test_several_documents_and_non_mapping_roots() -> None:
    assert _problems("a: 1\n---\nb: 2\n")[0][:2] == (3, 1)
    assert "not a list" in _problems("- a\n- b\n")[0][2]
    assert "not a string" in _problems("just text\n")[0][2]


def test_syntax_error_is_positioned() -> None:
    [(line, col, message)] = _problems("a:\n  b: [1, 2\n  c: 3\n")
    assert line >= 2 and col >= 1 and message.startswith("YAML syntax error")


def test_recursive_alias_is_refused_not_nulled() -> None:
    assert _problems("a: &a {b: *a}\n") == [(1, 4, "recursive alias: a node contains itself")]
    assert _problems("a: &a [1, [2, *a]]\n")[0][2].startswith("recursive alias")


def test_shared_anchor_used_twice_is_not_recursive() -> None:
    doc, problems = read_yaml("x: &x {k: [1]}\na: [*x, *x]\n", "f")
    assert not problems and doc is not None
    assert doc.data["a"] == [{"k": [1]}, {"k": [1]}]
