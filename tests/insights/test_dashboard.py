"""The dashboard Blueprint served over real HTTP and loaded in a real headless Chromium: the
page shows the story's trains and an SVG chart; the screenshot is kept under artifacts/."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from ledger_repo import LedgerRepo, merged_train, story
from werkzeug.serving import make_server

from bot.config.load import load_config_text
from bot.insights.dashboard import clone_source, dashboard_blueprint, metrics_of
from bot.insights.metrics import export_gauges

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
NOW = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
CONFIG = """\
version: 1
trains:
  - name: web
    cadence: "0 14 * * 1-5"
services:
  - name: web
    image: ghcr.io/acme/web
stages:
  - name: staging
  - name: production
cutover:
  timezone: UTC
  windows:
    - days: [mon, tue, wed, thu]
      from: "09:00"
      to: "16:00"
freezes:
  - name: spring-break
    from: "2026-03-05"
    to: "2026-03-06"
    reason: conference
"""


def _app(repo: Path) -> Flask:
    config = load_config_text(CONFIG, ".github/release-train.yml")
    source = clone_source(
        repo, config=config, repo_url="https://github.com/acme/shop", clock=lambda: NOW
    )
    app = Flask("dashboard-test")
    app.register_blueprint(dashboard_blueprint(source))
    return app


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built, _ = story(tmp_path_factory.mktemp("dash") / "repo")
    merged_train(built, "web-2026-03-03")  # one still in flight
    return built.path


def test_page_content_and_accessibility(repo: Path) -> None:
    response = _app(repo).test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for train in ("web-2026-03-02", "api-2026-03-02", "web-2026-03-03"):
        assert train in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert '<html lang="en">' in html and 'href="#main"' in html and "focus-visible" in html
    assert html.count('role="img"') >= 4 and "<title id=" in html
    assert 'href="https://github.com/acme/shop/pull/10"' in html
    assert "spring-break" in html and "conference" in html
    assert "rolled_back" in html and "error-rate 0.05 &gt; 0.01" in html
    assert re.search(r"<th scope=\"col\">", html)


def test_empty_metrics_say_why(tmp_path: Path) -> None:
    built = LedgerRepo(tmp_path / "repo")
    merged_train(built, "web-2026-03-02")
    html = _app(built.path).test_client().get("/").get_data(as_text=True)
    assert "no promotion recorded" in html


def test_release_metrics_as_gauges(repo: Path) -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=True)
    export_gauges(registry, metrics_of(clone_source(repo)))
    text = generate_latest(registry).decode()
    assert "release_train_release_success_rate 0.5" in text
    assert 'release_train_trains_by_state{state="merged"} 1.0' in text
    assert "release_train_canary_failure_rate" not in text  # no value: left out


@pytest.fixture
def served(repo: Path) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _app(repo), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join()


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return found


def _run_chromium(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--user-data-dir={home / 'profile'}",
    ]
    return subprocess.run(
        [_chromium(), *flags, *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def test_in_headless_chromium(served: str, tmp_path: Path) -> None:
    dom = _run_chromium("--dump-dom", served, home=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for train in ("web-2026-03-02", "api-2026-03-02", "web-2026-03-03"):
        assert train in dom.stdout
    assert re.search(r"<svg[^>]+class=\"chart\"", dom.stdout)
    assert "Trains in flight" in dom.stdout
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "insights-dashboard.png"
    shot.unlink(missing_ok=True)
    done = _run_chromium(f"--screenshot={shot}", "--window-size=1280,2200", served, home=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_source_from_env(repo: Path, tmp_path: Path) -> None:
    from bot.insights.dashboard import source_from_env

    unset = source_from_env({})()
    assert "RELEASE_TRAIN_DASHBOARD_REPO" in unset.note and not unset.history.ledger
    view = source_from_env({"RELEASE_TRAIN_DASHBOARD_REPO": str(repo)})()
    assert len(view.history.ledger) > 10
    assert view.config is None and "calendar unavailable" in view.note  # no config committed
    missing = source_from_env({"RELEASE_TRAIN_DASHBOARD_REPO": str(tmp_path / "nope")})()
    assert "not a git repository" in missing.note


def test_config_is_read_from_the_base_branch(tmp_path: Path) -> None:
    built = LedgerRepo(tmp_path / "repo")
    merged_train(built, "web-2026-03-02")
    built.base_commit("config\n", {".github/release-train.yml": CONFIG})
    app = Flask("config-from-repo")
    app.register_blueprint(dashboard_blueprint(clone_source(built.path, clock=lambda: NOW)))
    html = app.test_client().get("/").get_data(as_text=True)
    assert "spring-break" in html and "2026-03-03 14:00 UTC" in html
