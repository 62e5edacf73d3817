"""Ranking a rolled-back train's PRs by evidence (`bot.core.suspects`)."""

from __future__ import annotations

from bot.config.model import Service
from bot.core.suspects import FileChange, rank, section

SERVICES = (
    Service("web", "ghcr.io/acme/web", ("src/web/*",)),
    Service("api", "ghcr.io/acme/api", ("src/api/*",)),
)
PULLS = [
    (11, "Big docs rewrite", ("docs",)),
    (12, "Tweak web", ()),
    (13, "Api change", ("database-migration",)),
]
FILES = {
    11: [FileChange("docs/a.md", 900)],
    12: [FileChange("src/web/app.py", 3)],
    13: [FileChange("src/api/app.py", 40)],
}


def test_a_pr_touching_the_breaching_service_ranks_first_however_small() -> None:
    ranked = rank(PULLS, FILES, {"web"}, SERVICES)
    assert [s.number for s in ranked] == [12, 11, 13]
    assert ranked[0].services == ("web",) and ranked[0].lines == 3


def test_without_a_breaching_service_size_then_risky_labels_decide() -> None:
    ranked = rank(PULLS, FILES, set(), SERVICES)
    assert [s.number for s in ranked] == [11, 13, 12]
    same_size = {11: [FileChange("x", 5)], 12: [FileChange("y", 5)], 13: [FileChange("z", 5)]}
    assert [s.number for s in rank(PULLS, same_size, set(), SERVICES)] == [13, 11, 12]
    assert rank(PULLS, same_size, set(), SERVICES)[0].risky == ("database-migration",)


def test_two_breaching_services_outrank_one() -> None:
    files = {**FILES, 13: [FileChange("src/api/app.py", 1), FileChange("src/web/x.py", 1)]}
    ranked = rank(PULLS, files, {"web", "api"}, SERVICES)
    assert (ranked[0].number, ranked[0].services) == (13, ("api", "web"))


def test_the_section_is_a_table_with_titles_made_inert() -> None:
    pulls = [(7, "Fix | @someone <!-- x -->", ("risky",))]
    text = section(rank(pulls, {7: [FileChange("src/web/a", 2)]}, {"web"}, SERVICES))
    assert text.startswith("### Suspects")
    row = text.splitlines()[4]
    assert row.startswith("| 1 | #7 ") and "`web`" in row and "| 2 |" in row
    assert "\\|" in row and "@someone" not in row and "<!--" not in row
    assert section([]) == ""
