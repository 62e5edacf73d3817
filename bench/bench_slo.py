"""SLO judge benchmarks: judge time for 50 SLOs, and detection latency on a real Prometheus.

Usage: .venv/bin/python bench/bench_slo.py [--quick]

1. Judge time: plan + judge (pure, no I/O) for 50 SLOs of mixed kinds, answers prepared.
2. Detection latency: a canary whose error ratio jumps at minute 0 (30 min into its soak),
   judged by the real judge against a real Prometheus every minute; ticks until `fail`,
   and the HTTP requests one evaluation sends. Skipped if no prometheus binary is found.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, for a smoke run")
    args = parser.parse_args(argv)
    bench_judge(20 if args.quick else 200)
    bench_detection([0.02, 0.05] if args.quick else [0.01, 0.02, 0.05, 0.2, 1.0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
