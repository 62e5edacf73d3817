"""Races: at every step of the scenario four reconcilers run at once on the same
repository (threads, or separate `release-train reconcile` processes) while the sandbox
delivers every webhook to the real webhook app, duplicated (p=0.5) and reordered (in
batches of 3), which reconciles too. The end equals the fault-free run: each train merged
once, each ledger transition once, the ledger linear."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime
from typing import Any

import pytest
from lifecycle_sandbox import REPO
from matrix import Outcome
from scenario import Run, final_state, ledger_parents, play
from scenarios import quiet, webhook_rig

from bot.sandbox.runner import Sandbox

pytestmark = pytest.mark.reliability

RACERS = 4


def _race_threads(now: list[datetime], sb: Sandbox, app: Any, errors: list[BaseException]) -> Any:
    def settle(run: Run, at: datetime) -> None:
        now[:] = [at]

        def one() -> None:
            try:
                run.settle_alone(at)
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        quiet(sb, app)
        run.settle_alone(at)  # and then it is quiet

    return settle


def _race_processes(now: list[datetime], sb: Sandbox, app: Any, codes: list[int]) -> Any:
    def settle(run: Run, at: datetime) -> None:
        now[:] = [at]
        env = {**os.environ, "GITHUB_TOKEN": sb.bot_token()}
        command = [sys.executable, "-m", "bot", "reconcile", "--repo", REPO]
        command += ["--api-url", sb.base_url, "--now", at.isoformat()]
        procs = [
            subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(RACERS)
        ]
        codes.extend(p.wait(timeout=120) for p in procs)
        quiet(sb, app)
        run.settle_alone(at)

    return settle


ONCE = ("create", "depart", "open-pr", "merge", "land", "rollback-requested", "rolled-back")


def _check(run: Run, baseline: Outcome, sb: Sandbox) -> dict[str, Any]:
    """Each train merged once, each transition once, the ledger linear, the trains in the
    fault-free run's states; answers the state for further checks."""
    state = final_state(run)
    parents = ledger_parents(run)
    assert all(len(p) <= 1 for p in parents) and sum(1 for p in parents if not p) == 1
    events = state["events"]
    assert {k: v for k, v in events.items() if k.split(":")[0] in ONCE and v != 1} == {}
    assert {k for k in events if k.split(":")[0] in ONCE} == {
        k for k in baseline.state["events"] if k.split(":")[0] in ONCE
    }
    merges = sb.git.out(REPO, "log", "--format=%s", "refs/heads/main")
    assert sum(line.startswith("Release train ") for line in merges.splitlines()) == 1
    ledger = state["ledger"]
    first, second = (ledger[tid] for tid in sorted(ledger, key=len))  # web-D, then web-D.2
    assert (first["state"], second["state"]) == ("rolled_back", "boarding")
    assert len(first["boarded"]) == 2 and first["landed"] == first["boarded"]
    assert second["boarded"] == [m[0] for m in first["missed"]]
    assert any(d.duplicate for d in sb.deliverer.log)
    return state


def test_four_threads_and_the_webhook_app_racing(tmp_path: Any, baseline: Outcome) -> None:
    now: list[datetime] = []
    errors: list[BaseException] = []
    with webhook_rig(tmp_path, now) as (sb, app):
        hook = _race_threads(now, sb, app, errors)
        run = play(sb, before=lambda r: setattr(r, "settle_hook", hook))
        _check(run, baseline, sb)
        assert all(d.status == 202 for d in sb.deliverer.log)
    assert errors == []


@pytest.mark.slow
def test_four_processes_and_the_webhook_app_racing(tmp_path: Any, baseline: Outcome) -> None:
    now: list[datetime] = []
    codes: list[int] = []
    with webhook_rig(tmp_path, now) as (sb, app):
        hook = _race_processes(now, sb, app, codes)
        run = play(sb, before=lambda r: setattr(r, "settle_hook", hook))
        _check(run, baseline, sb)
    assert codes and set(codes) <= {0, 3}, codes  # 3: held/inconclusive (a lost race)


def test_two_reconcilers_posting_the_same_comment_post_it_once(sandbox: Sandbox) -> None:
    """Deterministic interleaving: the sandbox holds each comment POST until both
    reconcilers have sent theirs (a barrier), i.e. both listed before either posted."""
    from bot.adapters.github import GitHubClient, ResponseCache

    sandbox.scenario.create_repo(REPO, {"README.md": "x\n"})
    sandbox.scenario.install_bot(REPO)
    number = sandbox.scenario.open_pr(REPO, "dev-alice", "feat", {"a.txt": "a\n"}, title="A")
    barrier = threading.Barrier(2, timeout=5)

    def hold(ctx: Any) -> None:
        if ctx.method == "POST" and ctx.path.endswith(f"/issues/{number}/comments"):
            barrier.wait()

    sandbox.server.before_request = hold

    def post() -> None:
        with GitHubClient(
            REPO, sandbox.bot_token(), api_url=sandbox.base_url, cache=ResponseCache()
        ) as client:
            client.post_comment(number, "hello", "race:1")

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    path = f"/repos/{REPO}/issues/{number}/comments"
    bodies = [c["body"] for c in sandbox.scenario.call("GET", path, as_user="rm-dave")]
    assert sum("race:1" in body for body in bodies) == 1
