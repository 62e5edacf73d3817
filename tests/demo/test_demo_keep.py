"""`demo --keep`: after the story, the sandbox and the dashboard still answer."""

from __future__ import annotations

from typing import Any

import httpx

from bot.demo.keep import serve_dashboard
from bot.demo.run import run_demo
from bot.demo.story import TRAIN_1, TRAIN_2, Options


def test_the_sandbox_and_dashboard_stay_up_for_a_look() -> None:
    seen: dict[str, Any] = {}

    def look(world: Any, metrics_url: str) -> None:
        token = world.sandbox.token("rm-dave")
        repo = httpx.get(
            f"{world.sandbox.base_url}/repos/{world.repo}",
            headers={"Authorization": f"token {token}"},
        )
        seen["repo"] = repo.status_code, repo.json()["full_name"]
        seen["metrics"] = httpx.get(
            metrics_url + "/api/v1/query", params={"query": "up", "time": "0"}
        ).json()["status"]
        with serve_dashboard(world) as url:
            page = httpx.get(url)
            seen["dashboard"] = page.status_code, page.headers["content-type"], page.text
        seen["after"] = url

    report = run_demo(Options(seed=5), on_keep=look)
    assert report.ok, report.failure
    assert seen["repo"] == (200, "acme/shop")
    assert seen["metrics"] == "success"
    status, kind, html = seen["dashboard"]
    assert status == 200 and kind.startswith("text/html")
    assert TRAIN_1 in html and TRAIN_2 in html
    try:  # stopped when the block ended
        httpx.get(seen["after"], timeout=2)
        stopped = False
    except httpx.TransportError:
        stopped = True
    assert stopped
