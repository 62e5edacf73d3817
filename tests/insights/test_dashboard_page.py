"""The dashboard page through its Jinja2 templates: hostile ledger text comes out escaped,
a yearly freeze shows the dates it really covers, held services are listed, and links go
to the repository's own web address (any GitHub, never a hard-coded one; never a
non-http(s) URL)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ledger_repo import LedgerRepo, merged_train, step

from bot.config.load import load_config_text
from bot.insights.charts import progress
from bot.insights.dashboard import clone_source
from bot.insights.page import CSP, message_page, render_page

NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
CONFIG = """\
version: 1
trains:
  - name: web
    cadence: "0 14 * * 1-5"
services:
  - name: web
    image: ghcr.io/acme/web
  - name: api
    image: ghcr.io/acme/api
gates:
  migrations:
    windows:
      - cron: "0 22 * * 5"
        duration: 4h
freezes:
  - name: year-end
    from: "12-20"
    to: "01-03"
    yearly: true
    reason: holidays
  - name: launch
    from: "2026-04-01"
    to: "2026-04-02"
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = LedgerRepo(tmp_path_factory.mktemp("page") / "repo")
    merged_train(built, "web-2026-03-02")
    record, _ = merged_train(built, "api-2026-03-02")
    hostile = replace(record, end_reason=HOSTILE)
    built.write(step(hostile, built.tick(), "abort", "aborted"), ["abort"])
    holds = {
        "held": [
            {"service": "api", "train": "api-2026-03-02", "reason": HOSTILE,
             "since": "2026-03-02T12:00:00+00:00"},
        ],
        "history": [["2026-03-02T12:00:00+00:00", "held", "api", "api-2026-03-02", "bot"]],
    }  # fmt: skip
    message = "hold: api-2026-03-02\n\nTrain-Id: api-2026-03-02\nEvent: hold\n"
    built.raw_ledger_commit({"holds.json": json.dumps(holds)}, message)
    return built.path


def _page(repo: Path, repo_url: str = "https://ghe.example.test/acme/shop") -> str:
    config = load_config_text(CONFIG, ".github/release-train.yml")
    source = clone_source(repo, config=config, repo_url=repo_url, clock=lambda: NOW)
    return render_page(source())


def test_hostile_text_is_escaped_by_the_templates(repo: Path) -> None:
    html = _page(repo)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x" in html
    assert "default-src 'none'" in CSP and "script-src" not in CSP  # no script allowed


def test_yearly_freeze_shows_the_dates_it_covers(repo: Path) -> None:
    html = _page(repo)
    row = html[html.index("<td>year-end</td>") :].split("</tr>", 1)[0]
    assert "<td>2026-12-20</td><td>2027-01-03</td><td>every year</td><td>holidays</td>" in row
    assert "2000-" not in html  # the meaningless year of a yearly freeze is never shown
    launch = html[html.index("<td>launch</td>") :].split("</tr>", 1)[0]
    assert "<td>2026-04-01</td><td>2026-04-02</td><td>once</td>" in launch


def test_held_services_are_listed(repo: Path) -> None:
    html = _page(repo)
    assert 'href="#held"' in html and "Held services" in html
    section = html[html.index('<section id="held"') :].split("</section>", 1)[0]
    assert "<td>api</td><td>api-2026-03-02</td><td>2026-03-02 12:00 UTC</td>" in section
    assert "&lt;script&gt;" in section


def test_links_point_at_the_configured_github(repo: Path) -> None:
    html = _page(repo)
    assert 'href="https://ghe.example.test/acme/shop/pull/10"' in html
    assert 'href="https://ghe.example.test/acme/shop/commit/' in html
    assert "github.com" not in html
    for bad in ("javascript:alert(1)", "data:text/html,x", ""):
        plain = _page(repo, bad)
        assert "/pull/10" not in plain and "javascript:" not in plain and "#10" in plain


def test_charts_and_message_page_escape() -> None:
    svg = progress([("<b>stage</b>", "done")], 'p-"x')
    assert "&lt;b&gt;stage&lt;/b&gt;" in svg and 'aria-labelledby="p-&#34;x-t"' in svg
    page = message_page("<Oops>", "a & b", ("/login?next=/", "Sign <in>"))
    assert "<h1>&lt;Oops&gt;</h1>" in page and "<p>a &amp; b</p>" in page
    assert '<a href="/login?next=/">Sign &lt;in&gt;</a>' in page


def test_a_clone_links_to_the_server_the_environment_names(repo: Path) -> None:
    from bot.insights.dashboard import source_from_env

    env = {
        "RELEASE_TRAIN_DASHBOARD_REPO": str(repo),
        "GITHUB_SERVER_URL": "https://ghe.example.test/",
        "RELEASE_TRAIN_DASHBOARD_NAME": "acme/shop",
    }
    html = render_page(source_from_env(env)())
    assert 'href="https://ghe.example.test/acme/shop/pull/10"' in html
    del env["GITHUB_SERVER_URL"]
    env["GITHUB_API_URL"] = "https://ghe2.example.test/api/v3"
    html = render_page(source_from_env(env)())
    assert 'href="https://ghe2.example.test/acme/shop/pull/10"' in html
    bare = render_page(source_from_env({"RELEASE_TRAIN_DASHBOARD_REPO": str(repo)})())
    assert "/pull/10" not in bare and "#10" in bare


def test_migration_windows_are_in_the_calendar(repo: Path) -> None:
    html = _page(repo)
    table = html[html.index("<caption>Migration windows") :].split("</table>", 1)[0]
    assert "<td>2026-03-06 22:00 UTC</td><td>2026-03-07 02:00 UTC</td>" in table
