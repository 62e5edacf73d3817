"""The README's exit-code table, one test per row, through `release-train plan` and
`reconcile` (and the Action, which shares the rule) against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lifecycle.lifecycle_sandbox import REPO, board_three, new_story, start_time
from promotion.promotion_story import merged_train
from slo.prometheus_ports import closed_port

from bot.adapters.prometheus import PrometheusClient
from bot.cli import main
from bot.commands.reconcile import exit_code
from bot.errors import EXIT_CHECK_FAILED, EXIT_EXTERNAL, EXIT_INCONCLUSIVE, EXIT_OK, EXIT_USAGE

M = timedelta(minutes=1)


def _args(sandbox, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RT_TOKEN", sandbox.bot_token())
    return ["--repo", REPO, "--api-url", sandbox.base_url, "--token-env", "RT_TOKEN"]


def test_ok_is_0(sandbox, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    args = _args(sandbox, monkeypatch)
    assert main(["plan", *args, "--now", t0.isoformat()]) == EXIT_OK
    assert main(["reconcile", *args, "--now", t0.isoformat()]) == EXIT_OK


def test_an_invalid_config_is_1_for_plan_and_reconcile(sandbox, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    new_story(sandbox, t0, "version: 1\ntrains:\n  - name: web\n    cadence: every tuesday\n")
    args = _args(sandbox, monkeypatch)
    assert main(["plan", *args, "--now", t0.isoformat()]) == EXIT_CHECK_FAILED
    assert "release-train.yml:" in capsys.readouterr().out
    assert main(["reconcile", *args, "--now", t0.isoformat()]) == EXIT_CHECK_FAILED
    assert "release-train.yml:" in capsys.readouterr().out


def test_a_usage_error_is_2(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("T", "x")
    assert main(["reconcile", "--repo", "no-slash", "--token-env", "T"]) == EXIT_USAGE


def test_a_promotion_held_for_lack_of_evidence_is_3(sandbox, prometheus) -> None:  # type: ignore[no-untyped-def]
    """Prometheus answers, but holds no data for the canary: not enough evidence yet."""
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0)
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
        m.story.reconcile(m.merged_at, prometheus=client)
        m.story.reconcile(m.merged_at + 10 * M, prometheus=client)  # canary starts
        planned = m.story.reconcile(m.merged_at + 11 * M, prometheus=client, dry_run=True)
        done = m.story.reconcile(m.merged_at + 11 * M, prometheus=client)
    assert exit_code(planned, dry_run=True) == EXIT_INCONCLUSIVE
    assert exit_code(done) == EXIT_INCONCLUSIVE


def test_a_promotion_held_on_an_unreachable_prometheus_is_4(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0)
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as client:
        m.story.reconcile(m.merged_at, prometheus=client)
        soaking = m.story.reconcile(m.merged_at + 5 * M, prometheus=client)  # staging: no SLOs
        m.story.reconcile(m.merged_at + 10 * M, prometheus=client)
        planned = m.story.reconcile(m.merged_at + 11 * M, prometheus=client, dry_run=True)
        done = m.story.reconcile(m.merged_at + 11 * M, prometheus=client)
    assert exit_code(soaking) == EXIT_OK  # soaking is not waiting on anything
    assert exit_code(planned, dry_run=True) == EXIT_EXTERNAL
    assert exit_code(done) == EXIT_EXTERNAL


def test_in_the_action_a_held_train_is_not_a_failure(sandbox) -> None:  # type: ignore[no-untyped-def]
    from bot.transports.action import exit_code_of
    from bot.transports.result import view

    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - 40 * M
    m = merged_train(sandbox, canary_slos=True, t0=t0)
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=1, timeout=1, sleep=lambda s: None) as client:
        m.story.reconcile(m.merged_at, prometheus=client)
        m.story.reconcile(m.merged_at + 10 * M, prometheus=client)
        held = m.story.reconcile(m.merged_at + 11 * M, prometheus=client)
    assert held.waiting == "prometheus"
    assert exit_code_of(view(held)) == EXIT_OK
    assert exit_code(held) == EXIT_EXTERNAL


def test_an_api_url_that_is_not_a_url_is_a_usage_error(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("T", "x")
    for command in ("plan", "reconcile"):
        code = main([command, "--repo", "a/b", "--token-env", "T", "--api-url", "notaurl"])
        assert code == EXIT_USAGE
        assert "--api-url: 'notaurl' is not an http(s) URL" in capsys.readouterr().err


def test_audit_of_an_unknown_train_is_1_naming_it(sandbox, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    board_three(story)
    story.reconcile(t0)
    args = _args(sandbox, monkeypatch)
    assert main(["audit", *args, "--train", "nope"]) == EXIT_CHECK_FAILED
    assert "no train 'nope'" in capsys.readouterr().err
    assert main(["audit", *args]) == EXIT_OK
    assert "web-" in capsys.readouterr().out


def test_a_missing_repository_is_named_as_such(sandbox, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    new_story(sandbox, start_time())
    monkeypatch.setenv("RT_TOKEN", sandbox.bot_token())
    args = ["--api-url", sandbox.base_url, "--token-env", "RT_TOKEN", "--now", "2026-12-07T10:00Z"]
    assert main(["plan", "--repo", "acme/nowhere", *args]) == EXIT_CHECK_FAILED
    out = capsys.readouterr().out
    assert "repository acme/nowhere not found at http" in out and "cannot see it" in out
    assert "release-train.yml" not in out
    # a wrong API URL (a server that is not GitHub's API) is not "no configuration" either
    wrong = ["--api-url", sandbox.base_url + "/not-the-api", *args[2:]]
    assert main(["plan", "--repo", REPO, *wrong]) != EXIT_OK
    assert "release-train.yml on the default branch" not in capsys.readouterr().out


def test_a_refused_token_says_so(sandbox, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    new_story(sandbox, start_time())
    monkeypatch.setenv("RT_TOKEN", "not-a-token")
    args = ["--api-url", sandbox.base_url, "--token-env", "RT_TOKEN"]
    assert main(["reconcile", "--repo", REPO, *args]) == EXIT_EXTERNAL
    assert "the token was refused (401)" in capsys.readouterr().out
