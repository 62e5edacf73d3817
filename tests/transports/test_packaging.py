"""The shipped Action, example workflow and App manifest say what the code expects."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.transports.routing import RELEVANT

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> Any:
    return YAML(typ="safe").load((ROOT / path).read_text())


def test_action_is_composite_with_cached_setup_python_and_the_entry_point() -> None:
    action = load("action.yml")
    assert set(action["inputs"]) >= {
        "token",
        "config",
        "prometheus-url",
        "prometheus-token",
        "dry-run",
    }
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"
    assert set(action["outputs"]) == {"train-id", "state", "actions-taken", "exit-code"}
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python@v5"))
    assert setup["with"]["cache"] == "pip"
    copied = next(s for s in steps if "cp " in s.get("run", ""))
    assert '"$GITHUB_ACTION_PATH/pyproject.toml"' in copied["run"]
    assert setup["with"]["cache-dependency-path"] in copied["run"]
    assert any(
        "pip install" in s.get("run", "") and '"$GITHUB_ACTION_PATH"' in s.get("run", "")
        for s in steps
    )
    run = next(s for s in steps if s.get("id") == "run")
    assert run["run"].strip() == "release-train action"
    env = run["env"]
    # every input reaches the entry point under the name it reads
    for name, value in {
        "RELEASE_TRAIN_TOKEN": "token",
        "RELEASE_TRAIN_CONFIG": "config",
        "RELEASE_TRAIN_DRY_RUN": "dry-run",
        "PROMETHEUS_URL": "prometheus-url",
        "PROMETHEUS_TOKEN": "prometheus-token",
    }.items():
        assert env[name] == f"${{{{ inputs.{value} }}}}"
    for output in action["outputs"].values():
        assert re.fullmatch(r"\$\{\{ steps\.run\.outputs\.[a-z-]+ \}\}", output["value"])


def test_example_workflow_triggers_and_concurrency() -> None:
    workflow = load(".github/workflows/release-train.example.yml")
    on = workflow["on"]
    assert on["schedule"] == [{"cron": "*/15 * * * *"}]
    assert set(on["pull_request"]["types"]) >= {"labeled", "unlabeled", "synchronize"}
    assert {"pull_request_review", "issue_comment", "check_run", "workflow_dispatch"} <= set(on)
    assert "github.repository" in workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False


def test_app_manifest_permissions_and_events() -> None:
    manifest = load("app.yml")
    assert manifest["hook_attributes"]["url"].endswith("/webhook")
    # the dashboard's sign-in comes back to the route bot.transports.signin_web serves
    from bot.transports.signin_web import CALLBACK

    assert [u.removeprefix(manifest["url"]) for u in manifest["callback_urls"]] == [CALLBACK]
    assert manifest["default_permissions"] == {
        "contents": "write",
        "pull_requests": "write",
        "checks": "write",
        "issues": "write",
        "deployments": "write",
        "statuses": "read",
        "metadata": "read",
        "members": "read",
        "actions": "read",
        "packages": "read",
    }
    # every subscribed event is one the router acts on
    assert set(manifest["default_events"]) <= set(RELEVANT)
    assert {"pull_request", "pull_request_review", "issue_comment", "check_run"} <= set(
        manifest["default_events"]
    )
