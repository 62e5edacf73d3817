"""`action.yml`, the example workflow and docs/action.md agree with each other and with
what `release-train action` reads and writes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.transports.action import ALIASES, ALWAYS, INPUT_ENV, OUTPUTS
from bot.transports.routing import RELEVANT

ROOT = Path(__file__).resolve().parents[2]
EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def load(path: str) -> Any:
    return YAML(typ="safe").load((ROOT / path).read_text(encoding="utf-8"))


def refs(node: Any, context: str) -> set[str]:
    """Every `<context>.NAME` used inside `${{ ... }}` anywhere in `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        for value in node.values():
            found |= refs(value, context)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value, context)
    elif isinstance(node, str):
        for expr in EXPR.findall(node):
            found |= set(re.findall(rf"\b{re.escape(context)}\.([\w-]+)", expr))
    return found


@pytest.fixture(scope="module")
def action() -> Any:
    return load("action.yml")


@pytest.fixture(scope="module")
def workflow() -> Any:
    return load(".github/workflows/release-train.example.yml")


def test_every_input_used_in_the_steps_is_declared_and_every_declared_one_is_used(
    action: Any,
) -> None:
    used = refs(action["runs"]["steps"], "inputs")
    assert used == set(action["inputs"])


def test_the_composite_steps_are_well_formed(action: Any) -> None:
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", f"a composite run step needs a shell: {step}"
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec or spec.get("required"), name


def test_outputs_come_from_the_step_that_writes_them(action: Any) -> None:
    steps = {s["id"]: s for s in action["runs"]["steps"] if "id" in s}
    assert tuple(action["outputs"]) == OUTPUTS
    for name, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{name} }}}}"
    assert steps["run"]["run"].strip() == "release-train action"


def test_the_run_step_sets_exactly_the_variables_the_entry_reads(action: Any) -> None:
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    assert set(run["env"]) == INPUT_ENV


def test_the_example_workflow_uses_only_what_the_action_offers(action: Any, workflow: Any) -> None:
    steps = workflow["jobs"]["reconcile"]["steps"]
    step = next(s for s in steps if s.get("id") == "train")
    assert set(step["with"]) <= set(action["inputs"])
    assert refs(steps, "steps.train.outputs") <= set(action["outputs"])
    dispatch = workflow["on"]["workflow_dispatch"]["inputs"]
    assert refs(workflow, "inputs") == set(dispatch)
    assert dispatch["command"]["options"] == ["reconcile", "plan"]


def test_the_example_workflow_listens_only_to_events_that_reach_reconcile(
    workflow: Any,
) -> None:
    for event, spec in workflow["on"].items():
        name = ALIASES.get(event, event)
        if name in ALWAYS:
            continue
        assert name in RELEVANT, f"{event} is never routed to a reconcile"
        allowed = RELEVANT[name]
        types = set((spec or {}).get("types", []))
        assert types, f"{event}: list the activity types, or every one starts a run"
        assert allowed is None or types <= allowed, f"{event}: {types - set(allowed or ())}"


def test_docs_list_every_input_and_output(action: Any) -> None:
    text = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    for name in [*action["inputs"], *action["outputs"]]:
        assert f"| `{name}` |" in text, f"docs/action.md does not describe `{name}`"
