"""Reliability bug J: the `release-train/promotion` check run whose creation GitHub refuses
is not lost. The train's first check run is published before the ledger write of its step,
so a refusal stops the round and the next round makes it (the bump is adopted, not made
twice)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import merged_train

from bot.sandbox.http import Response

M = timedelta(minutes=1)
CHECK_RUN = "release-train/promotion"


def _promotion_runs(m: Any, sha: str) -> list[dict[str, Any]]:
    path = f"/repos/{REPO}/commits/{sha}/check-runs?per_page=100"
    runs = m.kit.call("GET", path, as_user="rm-dave")["check_runs"]
    return [r for r in runs if r["name"] == CHECK_RUN]


def test_a_refused_promotion_check_run_is_made_by_the_next_round(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    refused: list[str] = []

    def refuse_the_promotion_check_run(ctx: Any) -> Response | None:
        posting = ctx.method == "POST" and ctx.path.endswith("/check-runs")
        if posting and ctx.json().get("name") == CHECK_RUN:
            refused.append(ctx.path)
            return Response(503, {"message": "Service Unavailable"})
        return None

    m.story.sandbox.server.before_request = refuse_the_promotion_check_run
    try:
        assert m.story.reconcile(m.merged_at).problems != ()
    finally:
        m.story.sandbox.server.before_request = None
    assert refused
    merge_sha = m.record()["merge_sha"]
    assert _promotion_runs(m, merge_sha) == []

    # the next round, soaking and otherwise idle, makes it; the bump is not made twice
    assert m.story.reconcile(m.merged_at + M).problems == ()
    [run] = _promotion_runs(m, merge_sha)
    assert run["status"] == "in_progress"
    staging = [b for _, b in m.main_log() if b.startswith(f"promote {m.train_id} to staging\n")]
    assert len(staging) == 1
    steps = {s["name"]: s["status"] for s in m.record()["extra"]["promotion"]["steps"]}
    assert steps["staging"] == "soaking"
    assert m.record()["extra"]["check_run"] == run["id"]
