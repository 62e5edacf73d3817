"""The dashboard's annotations, end to end: a real `release-train serve` process reconciles a
sandbox train (its App credentials, signed deliveries) while a real Prometheus scrapes its
`/metrics`; the train is bumped to staging, held and rolled back; then each annotation's
PromQL from docs/grafana-dashboard.json, run as Grafana runs it (a range query, the value
as the time in milliseconds), returns exactly the bump, hold and revert times the ledger
records for that train."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from lifecycle.lifecycle_sandbox import REPO
from prometheus_server import PrometheusServer, free_port, prometheus_bin
from promotion.promotion_story import Merged, merged_train

from bot.sandbox import appauth
from bot.sandbox.scenario import BOT_INSTALLATION
from bot.transports.event_series import NAME

SECRET = "grafana-webhook-secret"
DOC = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
pytestmark = pytest.mark.skipif(
    prometheus_bin() is None,
    reason="no prometheus binary: run `bash .ci/install-system-deps.sh` or set PROMETHEUS_BIN",
)


def annotations() -> list[dict[str, Any]]:
    return list(json.loads(DOC.read_text())["annotations"]["list"])


def test_every_annotation_is_a_prometheus_query_over_the_event_series() -> None:
    found = {a["name"]: a for a in annotations()}
    assert set(found) == {"Bumps", "Reverts", "Holds"}
    for a in found.values():
        assert a["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert a["useValueForTime"] is True and a["enable"] is True
        assert NAME in a["expr"] and a["expr"].endswith("* 1000")  # Grafana wants ms
        assert set(a["tagKeys"].split(",")) == {"repository", "train", "stage", "event"}
        assert a["step"] and "{{train}}" in a["titleFormat"]


@pytest.fixture
def serve(sandbox, tmp_path: Path) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """`release-train serve` as a process, the sandbox's App: its port."""
    port = free_port()
    env = {
        **os.environ,
        "APP_ID": str(appauth.app_id(sandbox.store)),
        "PRIVATE_KEY": appauth.private_key_pem(sandbox.store),
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": sandbox.base_url,
        "APP_SLUG": "release-train",
        "SCHEDULE_INTERVAL": "0",
    }
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: _status(port, "/healthz") == 200 or proc.poll() is not None, 30)
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _status(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return 0


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def deliver(port: int) -> None:
    """A signed delivery naming the repository: the server reconciles it."""
    payload = {
        "action": "look-again",
        "repository": {"full_name": REPO},
        "installation": {"id": BOT_INSTALLATION},
    }
    body = json.dumps(payload).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "repository_dispatch",
        "X-GitHub-Delivery": f"grafana-{time.monotonic_ns()}",
        "X-Hub-Signature-256": "sha256="
        + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    conn.request("POST", "/webhook", body=body, headers=headers)
    assert conn.getresponse().status == 202


def query_range(prom: PrometheusServer, expr: str, start: float, end: float, step: str) -> Any:
    params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
    url = f"{prom.url}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        doc = json.loads(response.read())
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


def annotation_times(result: Any) -> dict[tuple[str, str, str], set[float]]:
    """What Grafana makes of a range result with `useValueForTime`: per series (train,
    stage, event), the distinct values, each an event's time in ms (here in seconds)."""
    times: dict[tuple[str, str, str], set[float]] = {}
    for series in result:
        labels = series["metric"]
        key = (labels["train"], labels["stage"], labels["event"])
        times.setdefault(key, set()).update(float(v) / 1000 for _, v in series["values"])
    return times


def ledger_times(m: Merged, event: str) -> set[float]:
    return {
        datetime.fromisoformat(e["at"]).timestamp()
        for e in m.record()["history"]
        if e["event"] == event
    }


@pytest.mark.slow
def test_annotations_return_the_bump_hold_and_revert_times_of_a_sandbox_train(
    sandbox,  # type: ignore[no-untyped-def]
    serve: int,
    tmp_path: Path,
) -> None:
    m = merged_train(sandbox)
    scrape = (
        "  - job_name: release-train\n"
        "    scrape_interval: 1s\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{serve}']}}]\n"
    )
    with PrometheusServer.start(tmp_path / "prometheus", scrape=scrape) as prom:
        began = time.time()
        deliver(serve)  # the serve process merges the train and bumps staging
        assert wait_for(lambda: m.record()["state"] == "promoting", 60), m.record()["state"]
        m.kit.comment(REPO, m.train_pr, "rm-dave", "/train hold")
        deliver(serve)
        assert wait_for(lambda: m.record()["held"], 60)
        m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
        deliver(serve)
        assert wait_for(lambda: m.record()["state"] == "rolled_back", 60), m.record()["state"]

        expected = {
            "bump": ledger_times(m, "stage-started"),
            "hold": ledger_times(m, "hold"),
            "revert": ledger_times(m, "rolled-back"),
        }
        assert all(len(times) == 1 for times in expected.values()), expected
        revert = next(a for a in annotations() if a["name"] == "Reverts")

        def scraped() -> bool:
            return bool(query_range(prom, revert["expr"], began, time.time(), "1s"))

        assert wait_for(scraped, 30), "Prometheus never scraped the revert"
        end = time.time()
        for a in annotations():
            event = {"Bumps": "bump", "Holds": "hold", "Reverts": "revert"}[a["name"]]
            # a dashboard over the last 10 steps: the last evaluation is at `end`
            start = end - 10 * int(a["step"].removesuffix("s"))
            got = annotation_times(query_range(prom, a["expr"], start, end, a["step"]))
            assert list(got) == [(m.train_id, "staging", event)], (a["name"], got)
            [times] = got.values()
            assert _close(times, expected[event]), (a["name"], times, expected[event])


def _close(got: set[float], want: set[float]) -> bool:
    """Equal to the millisecond (PromQL multiplies a float64 by 1000)."""
    return sorted(round(t, 3) for t in got) == sorted(round(t, 3) for t in want)
