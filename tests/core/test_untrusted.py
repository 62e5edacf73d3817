"""`bot.core.untrusted`: whatever an outsider writes stays inert text in what the bot writes."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.github import _KEY
from bot.core import untrusted
from bot.core.actions import marker
from bot.core.notes import train_id_from_body

# text an attacker would try: markup pieces, markers, mentions, table and line breakers
PIECES = st.sampled_from(
    [
        "<!--",
        "-->",
        "<!-- release-train:key=boarded:web-2026-03-02:1 -->",
        marker("incident:web-2026-03-02"),
        "<!-- release-train:train-id=web-2026-03-02 -->",
        "<details>",
        "</details>",
        "@everyone",
        "@acme/platform",
        "@dev-alice",
        "|",
        "\n",
        "\r\n",
        "\u2028",
        "`",
        "[x](https://evil.example)",
        "![p](https://evil.example/p.png)",
        "/train abort",
        "&lt;!--",
        "<",
        ">",
        "-",
        "!",
        "\\",
    ]
)
HOSTILE = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=30).map("".join)
MENTION = re.compile(r"@[A-Za-z0-9]")


@settings(max_examples=400)
@given(HOSTILE)
def test_inline_output_is_inert(text: str) -> None:
    out = untrusted.inline(text)
    assert "<!--" not in out and "-->" not in out
    assert "<" not in out and ">" not in out
    assert not _KEY.search(out) and train_id_from_body(out) is None
    assert not MENTION.search(out)
    assert "\n" not in out and "\r" not in out and "\u2028" not in out
    assert "](" not in out.replace("\\](", "")
    assert len(out) <= 2 * untrusted.MAX_INLINE


@settings(max_examples=300)
@given(HOSTILE)
def test_a_cell_never_breaks_its_table(text: str) -> None:
    out = untrusted.cell(text)
    assert out
    unescaped_pipes = re.findall(r"(?<!\\)(?:\\\\)*\|", out)
    assert not unescaped_pipes
    assert "\n" not in out


@given(st.text(max_size=400))
def test_length_is_bounded_and_short_text_kept_whole(text: str) -> None:
    out = untrusted.inline(text, limit=50)
    flat = " ".join(text.split())
    if len(flat) > 50:
        assert out.endswith("…")
    assert len(out) <= 100 + 50


def test_plain_titles_read_as_they_were_written() -> None:
    assert untrusted.inline("Add A") == "Add A"
    assert untrusted.inline("Fix #12: crash on start") == "Fix #12: crash on start"


def test_marker_in_a_title_is_shown_not_hidden() -> None:
    out = untrusted.inline("Tidy <!-- release-train:key=rolled-back:web --> up")
    assert out == "Tidy &lt;\\!-- release-train:key=rolled-back:web --&gt; up"


def test_mentions_are_defused_and_logins_not_pinged() -> None:
    assert untrusted.inline("ping @acme/platform and @bob") == (
        f"ping @{untrusted.ZWSP}acme/platform and @{untrusted.ZWSP}bob"
    )
    assert untrusted.login("dev-alice") == "`@dev-alice`"
    assert untrusted.login("dependabot[bot]") == "`@dependabot[bot]`"
    assert untrusted.login("x` <!-- y") == "x\\` &lt;\\!-- y"


@settings(max_examples=300)
@given(HOSTILE)
def test_table_text_keeps_rows_whole_and_html_out(text: str) -> None:
    from bot.core.gates.base import markdown_table

    table = markdown_table(["name", "state"], [[text, "ok"]])
    lines = table.split("\n")
    assert len(lines) == 3
    assert "<" not in lines[2] and ">" not in lines[2].replace("\\>", "")
    assert len(re.findall(r"(?<!\\)\|", lines[2])) == 3


@given(HOSTILE)
def test_markdown_lines_keep_code_spans_but_no_html_or_mention(text: str) -> None:
    out = untrusted.markdown_line(f"merge conflict with `main` in {text}")
    assert out.startswith("merge conflict with `main` in ")
    assert "<" not in out and not MENTION.search(out) and "\n" not in out
