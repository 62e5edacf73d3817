"""The reliability story with GitHub's rules on (`bench/bench_reliability.py --rules
protected`): a ruleset on the base branch, where the stages commit, with the App on its
bypass list. The story ends exactly as without rules (the fault-free baseline), also under
injected faults; and the rule is real: a writer without the bypass is refused."""

from __future__ import annotations

from typing import Any

import pytest
from lifecycle_sandbox import REPO
from matrix import differences, faulted, fresh_sandbox, protected, transient_plan

from bot.sandbox.http import ApiError

pytestmark = pytest.mark.reliability


def test_the_story_converges_with_the_base_branch_protected(baseline: Any) -> None:
    with fresh_sandbox() as sb:
        protected(sb)
        outcome = faulted(sb, transient_plan(3))
        assert differences(baseline.state, outcome.state) == []
        assert outcome.linear
        body = {"message": "direct", "content": "eAo=", "branch": "main"}
        with pytest.raises(ApiError) as refused:  # the rule bites who may not bypass it
            sb.server.call("PUT", f"/repos/{REPO}/contents/x.txt", body, as_user="dev-alice")
        assert refused.value.status == 409
        assert "Changes must be made through a pull request" in refused.value.message
