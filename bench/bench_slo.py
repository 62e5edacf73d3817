"""SLO judge benchmarks: judge time for 50 SLOs, and detection latency on a real Prometheus.

Usage: .venv/bin/python bench/bench_slo.py [--quick] [--only PART] [--days 7]

1. Judge time: plan + judge (pure, no I/O) for 50 SLOs of mixed kinds, answers prepared.
2. Detection latency: a canary whose error ratio jumps at minute 0 (30 min into its soak),
   judged by the real judge against a real Prometheus every minute; ticks until `fail`,
   and the HTTP requests one evaluation sends. Skipped if no prometheus binary is found.
3. Backtest: `slo backtest` of 7 days at a 1-minute step for 10 SLOs on a real Prometheus
   (history backfilled with promtool): requests per query and window, and wall time.
4. Scenarios: detection latency against false reverts (blip, slow burn, fast burn, low
   traffic, restart), each 60-minute soak replayed by the backtest with the defaults and
   with failure_limit/interval/initial_delay.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from bot.config.model import SLO, Comparison  # noqa: E402
from bot.core.slo import (  # noqa: E402
    QueryResult,
    QuerySpec,
    RangeResult,
    Sample,
    Series,
    Verdict,
    judge,
    plan_queries,
)
from bot.core.slo.results import Answer  # noqa: E402

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SEL = 'service="{service}",stage="{stage}"'
RATIO = (
    f'sum(rate(http_requests_total{{{SEL},code=~"5.."}}[{{window}}]))'
    f" / sum(rate(http_requests_total{{{SEL}}}[{{window}}]))"
)


def fifty_slos() -> list[SLO]:
    kinds = [
        lambda i: SLO(name=f"ratio-{i}", error_ratio=RATIO),
        lambda i: SLO(
            name=f"good-{i}", good="g{service}[{window}]", total="t[{window}]", min_requests=100
        ),
        lambda i: SLO(
            name=f"latency-{i}", latency="histogram_quantile(0.99, l[{window}])", threshold=0.5
        ),
        lambda i: SLO(
            name=f"compare-{i}",
            error_ratio=RATIO,
            compare=Comparison(canary="c[{window}]", baseline="b[{window}]"),
        ),
    ]
    return [kinds[i % len(kinds)](i) for i in range(50)]


def answer_for(spec: QuerySpec, i: int) -> Answer:
    if spec.is_range:
        points = tuple((float(t), 0.01 + 0.001 * ((t * 7 + i) % 11)) for t in range(60))
        return RangeResult((Series((), points),))
    value = {"total": 5000.0, "good": 4999.0, "latency": 0.2}.get(spec.role, 0.0004)
    return QueryResult("vector", (Sample((), value, 0.0),))


def bench_judge(reps: int) -> None:
    slos = fifty_slos()
    since = AT - timedelta(minutes=45)
    prepared = []
    for i, slo in enumerate(slos):
        specs = plan_queries(slo, "canary", "checkout", AT, since)
        prepared.append((slo, {s: answer_for(s, i) for s in specs}))
    queries = sum(len(a) for _, a in prepared)
    timings = {"plan": [], "judge": [], "plan+judge": []}  # type: dict[str, list[float]]
    for _ in range(reps):
        t0 = time.perf_counter()
        for slo, _ in prepared:
            plan_queries(slo, "canary", "checkout", AT, since)
        t1 = time.perf_counter()
        verdicts = [judge(slo, a, "canary", "checkout", AT, since).verdict for slo, a in prepared]
        t2 = time.perf_counter()
        timings["plan"].append(t1 - t0)
        timings["judge"].append(t2 - t1)
        timings["plan+judge"].append(t2 - t0)
    assert all(v == Verdict.PASS for v in verdicts), verdicts
    print(f"judge time for {len(slos)} SLOs ({queries} queries' answers, {reps} runs)\n")
    print("| step | median ms / 50 SLOs | p95 ms | µs per SLO |\n|---|---|---|---|")
    for step, values in timings.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(f"| {step} | {median * 1e3:.2f} | {p95 * 1e3:.2f} | {median / 50 * 1e6:.0f} |")
    print()


def bench_detection(severities: list[float]) -> None:
    from prometheus_server import PrometheusServer, prometheus_bin
    from slo.synthetic import between, const, requests

    from bot.adapters.prometheus import PrometheusClient
    from bot.core.slo import evaluate

    if prometheus_bin() is None:
        print("detection latency: skipped (no prometheus binary; run .ci/install-system-deps.sh)")
        return
    now = int(time.time()) // 60 * 60
    breach = now - 60 * 60  # the first breaching sample; ticks run up to `now`
    since = breach - 30 * 60  # the canary was bumped 30 minutes before
    slo = SLO(name="availability", objective=99.9, error_ratio=RATIO)
    series = []
    for n, errors in enumerate(severities):
        series += requests(
            {"service": f"s{n}", "stage": "canary"},
            since - 3600,
            now,
            rps=const(10),
            error_fraction=between(breach, now + 1, errors, 0.0005),
        )
    rows = []
    with tempfile.TemporaryDirectory() as tmp, PrometheusServer.start(Path(tmp)) as prom:
        prom.push(series)
        with PrometheusClient(prom.url) as client:
            for n, errors in enumerate(severities):
                ticks, requests_per_eval, first = None, 0, None
                for tick in range(0, 61):
                    at = datetime.fromtimestamp(breach + tick * 60, UTC)
                    before = client.requests
                    result = evaluate(
                        client, slo, "canary", f"s{n}", at, datetime.fromtimestamp(since, UTC)
                    )
                    requests_per_eval = client.requests - before
                    if result.verdict == Verdict.FAIL:
                        ticks, first = tick, result.evidence
                        break
                rows.append((errors, ticks, requests_per_eval, first or "-"))
    print("detection latency: 1-minute ticks from the first breaching sample to `fail`")
    print("(canary bumped 30 min before the breach; SLO 99.9 %, default burn-rate rules)\n")
    print("| error ratio | ticks to fail | requests per evaluation | evidence |")
    print("|---|---|---|---|")
    for errors, ticks, per_eval, evidence in rows:
        shown = ticks if ticks is not None else "> 60"
        print(f"| {errors:.1%} | {shown} | {per_eval} | {evidence} |")
    print()


# --- backtest -----------------------------------------------------------------------------

GOOD = f'sum(increase(http_requests_total{{{SEL},code!~"5.."}}[{{window}}]))'
TOTAL = f"sum(increase(http_requests_total{{{SEL}}}[{{window}}]))"


def ten_slos() -> list[SLO]:
    """Six error-ratio SLOs and four good/total ones (16 query templates)."""
    ratio = [SLO(name=f"ratio-{i}", error_ratio=RATIO) for i in range(6)]
    counted = [SLO(name=f"counted-{i}", good=GOOD, total=TOTAL) for i in range(4)]
    return ratio + counted


def bench_backtest(days: int) -> None:
    """`slo backtest` of `days` days at a 1-minute step for 10 SLOs (one service each):
    Prometheus requests per query and window, and wall time, settled and as one long soak."""
    from prometheus_server import PrometheusServer, prometheus_bin, promtool_bin
    from slo.synthetic import between, const, requests

    from bot.adapters.prometheus import PrometheusClient
    from bot.core.slo import backtest as bt
    from bot.core.slo.backtest_plan import ticks
    from bot.core.slo.plan import plan_queries

    if prometheus_bin() is None or promtool_bin() is None:
        print("backtest: skipped (no prometheus/promtool; run .ci/install-system-deps.sh)")
        return
    end = int(time.time()) // 3600 * 3600 - 3600
    start = end - days * 86400
    slos = ten_slos()
    history = []
    for n in range(len(slos)):
        burst = between(start + (n + 1) * 7200, start + (n + 1) * 7200 + 900, 0.3, 0.0005)
        labels = {"service": f"s{n}", "stage": "canary"}
        history += requests(labels, start - 7 * 3600, end, rps=const(5), error_fraction=burst,
                            step=60.0, seed=n)  # fmt: skip
    jobs = [bt.Job(slo, f"s{n}") for n, slo in enumerate(slos)]
    first, last, step = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), M
    windows = sum(
        len({(s.template, s.window) for s in plan_queries(j.slo, "canary", j.service, last, None)})
        for j in jobs
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with PrometheusServer.start(Path(tmp), history=history, ready_timeout=120) as prom:
            loaded = time.perf_counter() - t0
            with PrometheusClient(prom.url, timeout=60) as client:
                for label, since in (("settled", None), ("one soak from the start", first)):
                    t1 = time.perf_counter()
                    plan = bt.plan(jobs, "canary", ticks(first, last, step), since, step)
                    t2 = time.perf_counter()
                    before = client.requests
                    fetched = bt.fetch(client, plan.requests)
                    sent = client.requests - before
                    t3 = time.perf_counter()
                    timeline = bt.replay(plan, fetched)
                    t4 = time.perf_counter()
                    fails = timeline.counts()["fail"]
                    rows.append((label, len(timeline.points), sent, sent / windows,
                                 t2 - t1, t3 - t2, t4 - t3, fails))  # fmt: skip
    print(f"backtest: {days} days at a 1-minute step, {len(jobs)} SLOs ({windows} query "
          f"windows), {len(history)} series backfilled and loaded in {loaded:.1f} s\n")  # fmt: skip
    print("| run | ticks | requests | per query and window | plan s | fetch s | replay s | "
          "fail ticks |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for label, n, sent, per, plan_s, fetch_s, replay_s, fails in rows:
        print(f"| {label} | {n} | {sent} | {per:.2f} | {plan_s:.1f} | {fetch_s:.1f} | "
              f"{replay_s:.1f} | {fails} |")  # fmt: skip
    print()


M = timedelta(minutes=1)


def _scenarios(bump: float) -> list[tuple[str, int | None, float, object]]:
    """(name, the minute a real breach starts or None for a healthy release, rps, shape)."""
    from slo.synthetic import between

    ok = 0.0005

    def after(minute: float, errors: float) -> object:
        return between(bump + minute * 60, bump + 7200, errors, ok)

    def outage(minute: float, seconds: float) -> object:
        return between(bump + minute * 60, bump + minute * 60 + seconds, 1.0, ok)

    return [
        ("fast burn: 100 % errors from minute 10", 10, 10.0, after(10, 1.0)),
        ("fast burn: 20 % errors from minute 10", 10, 10.0, after(10, 0.2)),
        ("slow burn: 5 % errors from the bump", 0, 10.0, after(0, 0.05)),
        ("slow burn: 2 % errors from the bump", 0, 10.0, after(0, 0.02)),
        ("slow burn: 1 % errors from the bump", 0, 10.0, after(0, 0.01)),
        ("blip: 30 s outage at minute 2", None, 10.0, outage(2, 30)),
        ("blip: 90 s outage at minute 3", None, 10.0, outage(3, 90)),
        ("blip: 30 s outage at minute 40", None, 10.0, outage(40, 30)),
        ("restart: 90 s of errors right after the bump", None, 10.0, outage(0, 90)),
        ("low traffic: 0.02 req/s, errors for 2 min at minute 5", None, 0.02, outage(5, 120)),
    ]


CONFIGS = {
    "defaults": {},
    "failure_limit 3, interval 5m": {"failure_limit": 3, "interval": 5 * M},
    "initial_delay 3m": {"initial_delay": 3 * M},
    "both": {"failure_limit": 3, "interval": 5 * M, "initial_delay": 3 * M},
}


def bench_scenarios() -> None:
    """Detection latency against false reverts: each scenario's 60-minute soak replayed by
    the backtest (checks every minute) with the defaults and three variations."""
    from dataclasses import replace

    from prometheus_server import PrometheusServer, prometheus_bin
    from slo.synthetic import between, const, requests

    from bot.adapters.prometheus import PrometheusClient
    from bot.core.slo import backtest as bt
    from bot.core.slo.backtest_plan import ticks

    if prometheus_bin() is None:
        print("scenarios: skipped (no prometheus binary; run .ci/install-system-deps.sh)")
        return
    now = int(time.time()) // 60 * 60
    bump = now - 3600
    scenarios = _scenarios(bump)
    series = []
    for n, (_, _, rps, shape) in enumerate(scenarios):
        labels = {"service": f"x{n}", "stage": "canary"}
        series += requests(labels, bump - 3600, now, rps=const(rps), error_fraction=shape,  # type: ignore[arg-type]
                           step=5.0, seed=n)  # fmt: skip
    for instance in "abc":  # many series: instance c at 20 % errors from minute 10
        shape = between(bump + 600, bump + 7200, 0.2 if instance == "c" else 0.0005, 0.0005)
        labels = {"service": "many", "stage": "canary", "instance": instance}
        series += requests(labels, bump - 3600, now, rps=const(10 / 3), error_fraction=shape,
                           step=5.0, seed=ord(instance))  # fmt: skip
    base = SLO(name="availability", objective=99.9, error_ratio=RATIO, requests=TOTAL)
    per_instance = replace(
        base,
        error_ratio=RATIO.replace("sum(", "sum by (instance) ("),
        requests=TOTAL.replace("sum(", "sum by (instance) ("),
        by=("instance",),
    )
    many = "many series: 1 of 3 instances at 20 % errors from minute 10"
    runs = [(name, breach, base, f"x{n}") for n, (name, breach, _, _) in enumerate(scenarios)]
    runs += [(f"{many}, judged `by: [instance]`", 10, per_instance, "many"),
             (f"{many}, aggregated with sum()", 10, base, "many")]  # fmt: skip
    since, end = datetime.fromtimestamp(bump, UTC), datetime.fromtimestamp(now, UTC)
    table: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp, PrometheusServer.start(Path(tmp)) as prom:
        prom.push(series)
        with PrometheusClient(prom.url) as client:
            for name, breach, slo_of_row, service in runs:
                cells = []
                for settings in CONFIGS.values():
                    slo = replace(slo_of_row, **settings)  # type: ignore[arg-type]
                    plan = bt.plan([bt.Job(slo, service)], "canary", ticks(since, end, M), since, M)
                    stop = bt.replay(plan, bt.fetch(client, plan.requests)).stop
                    cells.append(_cell(stop and (stop.at - since) // M, breach))
                table[name] = cells
    print("detection latency vs false reverts: 60-minute soak, a check every minute, SLO 99.9 %")
    print("with a requests query, default burn-rate rules; minute of the revert after the bump\n")
    print(f"| scenario | {' | '.join(CONFIGS)} |\n|---|{'---|' * len(CONFIGS)}")
    for name, cells in table.items():
        print(f"| {name} | {' | '.join(cells)} |")
    print()


def _cell(minute: int | None, breach: int | None) -> str:
    if breach is None:
        return "no revert" if minute is None else f"**false revert** at {minute}"
    if minute is None:
        return "missed in the soak"
    return f"reverts at {minute} ({minute - breach} min after the breach)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke run")
    parser.add_argument(
        "--only", choices=("judge", "detection", "backtest", "scenarios"), help="one part"
    )
    parser.add_argument("--days", type=int, default=7, help="backtest period (default: 7)")
    args = parser.parse_args(argv)
    parts = {
        "judge": lambda: bench_judge(20 if args.quick else 200),
        "detection": lambda: bench_detection(
            [0.02, 0.05] if args.quick else [0.01, 0.02, 0.05, 0.2, 1.0]
        ),
        "backtest": lambda: bench_backtest(1 if args.quick else args.days),
        "scenarios": bench_scenarios,
    }
    for name, part in parts.items():
        if args.only in (None, name):
            part()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
