"""`release-train sandbox` in the foreground, and the demo repository."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.sandbox.runner import Sandbox


def get(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _start(args: list[str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start `release-train sandbox --json ARGS`; its process and the JSON it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or lines[-1] != "}\n":
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise AssertionError(proc.stderr.read() if proc.stderr else "no output")
        lines.append(line)
    return proc, json.loads("".join(lines))


def test_faults_file_and_the_app_key_for_a_bot(tmp_path: Path) -> None:
    from githubkit import AppAuthStrategy, GitHub
    from githubkit.cache import MemCacheStrategy

    plan = tmp_path / "faults.yaml"
    plan.write_text("seed: 3\nscript:\n  'GET /repos/acme/shop#0': 503\n")
    proc, info = _start(["--data", str(tmp_path / "d"), "--faults", str(plan)])
    try:
        assert info["faults"] == str(plan)
        key = Path(info["app"]["private_key"])
        assert key == tmp_path / "d" / "app.pem"
        assert key.stat().st_mode & 0o777 == 0o600
        auth = AppAuthStrategy(str(info["app"]["id"]), key.read_text())
        with GitHub(auth, base_url=info["base_url"], auto_retry=False,
                    cache_strategy=MemCacheStrategy()) as gh:  # fmt: skip
            assert gh.rest.apps.get_authenticated().json()["id"] == info["app"]["id"]
            inst = gh.rest.apps.get_repo_installation("acme", "shop").json()
            assert inst["id"] == info["app"]["installation_id"]
        token = info["tokens"]["dev-alice"]
        with pytest.raises(urllib.error.HTTPError) as failed:
            get(info["base_url"] + "/repos/acme/shop", token)
        assert failed.value.code == 503
        assert get(info["base_url"] + "/repos/acme/shop", token)["full_name"] == "acme/shop"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


@pytest.mark.parametrize(
    "text",
    ["probability: 2\n", "nonsense: 1\n", "kinds: [418]\n", "seed: [unclosed\n", "- a list\n"],
)
def test_bad_faults_file_is_a_usage_error(tmp_path: Path, text: str) -> None:
    plan = tmp_path / "faults.yaml"
    plan.write_text(text)
    assert main(["sandbox", "--faults", str(plan)]) == 2


def test_command_serves_demo_and_seed_until_terminated(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<h1>hi</h1>\n")
    seed.write_text(
        "users:\n  - login: ops-frank\n    roles: {acme/site: admin}\n"
        "repos:\n  - name: acme/site\n    dir: site\n"
        "pulls:\n  - {repo: acme/site, author: dev-alice, branch: feat, title: T,"
        " files: {index.html: changed}, labels: [train:next]}\n"
    )
    proc, info = _start(["--data", str(tmp_path / "d"), "--seed", str(seed)])
    try:
        assert info["repositories"] == ["acme/shop", "acme/site"]
        assert set(info["tokens"]) >= {
            "dev-alice",
            "dev-bob",
            "rev-carol",
            "rm-dave",
            "reader-erin",
            "ops-frank",
            "release-train[bot]",
        }
        token = info["tokens"]["ops-frank"]
        assert get(info["base_url"] + "/repos/acme/site", token)["permissions"]["admin"]
        pr = get(info["base_url"] + "/repos/acme/site/pulls/1", token)
        assert [lb["name"] for lb in pr["labels"]] == ["train:next"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_webhook_flags_go_together() -> None:
    assert main(["sandbox", "--webhook-url", "http://127.0.0.1:9/"]) == 2


def test_bad_seed_file_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["sandbox", "--seed", str(tmp_path / "missing.yaml")]) == 2


def test_demo_repository(sandbox: Sandbox, api: Any) -> None:
    repo = sandbox.scenario.demo()
    assert repo == "acme/shop"
    tree = api("dev-alice", "GET", "/repos/acme/shop/git/trees/main", params={"recursive": "1"})
    paths = {e["path"] for e in tree.json["tree"]}
    for service in ("checkout", "frontend", "payments"):
        assert f"services/{service}" in paths
    assert "deploy/checkout/overlays/production-eu-west/kustomization.yaml" in paths
    assert "deploy/frontend/values-production-us-east.yaml" in paths
    assert "deploy/payments/canary/deployment.yaml" in paths
    assert {".github/release-train.yml", ".github/CODEOWNERS"} <= paths
    perms = {
        u: api("release-train[bot]", "GET", f"/repos/acme/shop/collaborators/{u}/permission").json[
            "role_name"
        ]
        for u in ("dev-alice", "dev-bob", "rev-carol", "rm-dave", "reader-erin")
    }
    assert perms == {
        "dev-alice": "write",
        "dev-bob": "write",
        "rev-carol": "write",
        "rm-dave": "maintain",
        "reader-erin": "read",
    }
    labels = {
        lb["name"]: lb["color"] for lb in api("dev-alice", "GET", "/repos/acme/shop/labels").json
    }
    assert labels["train:next"] == "0e8a16"
    assert sandbox.scenario.demo() == "acme/shop"


def test_demo_config_is_valid(capsys: Any) -> None:
    root = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "demo" / "shop"
    code = main(["validate", "--repo-root", str(root), str(root / ".github/release-train.yml")])
    assert code == 0, capsys.readouterr()


def test_text_report_names_the_app_and_its_key_file(capsys: Any, tmp_path: Path) -> None:
    from bot.commands.sandbox import _report

    app = {"id": 1, "installation_id": 1, "private_key": str(tmp_path / "app.pem")}
    _report(False, "http://127.0.0.1:1", ["acme/shop"], {"dev-alice": "t"}, tmp_path, app, None)
    out = capsys.readouterr().out
    assert "app:     id 1, installation 1" in out
    assert f"app key: {tmp_path / 'app.pem'}" in out
