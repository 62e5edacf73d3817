"""Full-count reliability runs (issue 10): the scenario under injected faults for many
seeds, and a crash before every k-th request; each final state compared with the
fault-free run's. Prints a table; exits 1 when any run differs. A differing run is listed
with the reported bug that explains it (`matrix.BUGS`), e.g. ``12(F)``, or ``(?)``.

    .venv/bin/python bench/bench_reliability.py --seeds 100          # fault matrix
    .venv/bin/python bench/bench_reliability.py --crash-every 1      # crash at every k
    .venv/bin/python bench/bench_reliability.py --seed 17 --plan transient -v   # one seed
    .venv/bin/python bench/bench_reliability.py --quick --rules protected   # base protected

The CI subset is tests/reliability (3 seeds, every 20th k); see docs/reliability.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _paths() -> None:
    for sub in ("tests", "tests/lifecycle", "tests/reliability"):
        sys.path.insert(0, str(ROOT / sub))


def _one(matrix: Any, baseline: dict[str, Any], make: Callable[[], Any]) -> tuple[list[str], Any]:
    with matrix.fresh_sandbox() as sb:
        try:
            outcome = make(sb)
        except Exception as exc:  # a run that does not converge is a failure, not a crash
            return [f"{type(exc).__name__}: {str(exc)[:160]}"], None
        diffs = matrix.differences(baseline, outcome.state)
        if not outcome.linear:
            diffs.append("ledger not linear")
        return diffs, outcome


def _tagged(matrix: Any, name: str, outcome: Any, diffs: list[str]) -> str:
    """A differing run's name with the reported bug(s) that explain it: ``12(F)``; ``(?)``
    when some difference is not explained by a known bug (look at it with -v)."""
    bugs = matrix.explained(outcome.state, diffs) if outcome is not None else ""
    return f"{name}({bugs.replace(' ', '+') or '?'})"


def faults(matrix: Any, baseline: dict[str, Any], args: argparse.Namespace) -> list[list[str]]:
    rows = []
    plans = {"transient": matrix.transient_plan, "after-write": matrix.after_write_plan}
    for name, plan in plans.items():
        if args.plan and args.plan != name:
            continue
        seeds = [args.seed] if args.seed is not None else range(args.start, args.start + args.seeds)
        failed: list[str] = []
        why: Counter[str] = Counter()
        injected = reconciles = 0
        started = time.monotonic()
        for seed in seeds:
            run = lambda sb, s=seed, p=plan: matrix.faulted(sb, p(s))  # noqa: E731
            diffs, outcome = _one(matrix, baseline, run)
            if outcome is not None:
                injected += len(outcome.injector.injected)
                reconciles += outcome.run.reconciles
            if diffs:
                failed.append(_tagged(matrix, str(seed), outcome, diffs))
                why.update({d.split(":")[0] for d in diffs})
                if args.verbose:
                    print(f"{name} seed {seed}:", *diffs, sep="\n  ", file=sys.stderr)
        n = len(list(seeds))
        rows.append(
            [
                name,
                str(n),
                str(n - len(failed)),
                " ".join(failed) or "-",
                "; ".join(f"{k} ×{v}" for k, v in why.most_common(4)) or "-",
                f"{injected / max(n, 1):.1f}",
                f"{reconciles / max(n, 1):.1f}",
                f"{time.monotonic() - started:.0f}",
            ]
        )
    return rows


def crashes(matrix: Any, baseline: Any, args: argparse.Namespace) -> list[list[str]]:
    total = baseline.run.knobs.sent
    ks = range(args.crash_start, min(total, args.crash_stop or total), args.crash_every)
    failed: list[str] = []
    why: Counter[str] = Counter()
    started = time.monotonic()
    for k in ks:
        diffs, outcome = _one(matrix, baseline.state, lambda sb, k=k: matrix.crashed_at(sb, k))
        if diffs:
            failed.append(_tagged(matrix, str(k), outcome, diffs))
            why.update({d.split(":")[0] for d in diffs})
            if args.verbose:
                print(f"crash k={k}:", *diffs, sep="\n  ", file=sys.stderr)
    n = len(ks)
    return [
        [
            f"crash every {args.crash_every} of {total} (k {ks.start}–{ks.stop - 1})",
            str(n),
            str(n - len(failed)),
            " ".join(failed) or "-",
            "; ".join(f"{k} ×{v}" for k, v in why.most_common(4)) or "-",
            "1 crash",
            "-",
            f"{time.monotonic() - started:.0f}",
        ]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=0, help="fault-matrix seeds per plan")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument("--seed", type=int, help="run this one seed (with -v to see why)")
    parser.add_argument("--plan", choices=["transient", "after-write"])
    parser.add_argument("--crash-every", type=int, default=0, help="crash at every n-th k")
    parser.add_argument("--crash-start", type=int, default=0, help="first k (to split a sweep)")
    parser.add_argument("--crash-stop", type=int, default=0, help="stop before this k")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--quick", action="store_true", help="5 seeds, a crash every 16th k")
    parser.add_argument(
        "--rules",
        choices=["protected"],
        help="GitHub's rules on: protected = a ruleset on the base branch (where the stages "
        "commit; pull requests only, no force-push or deletion) with the App and admins on "
        "its bypass list",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.crash_every = 5, 16
    if not (args.seeds or args.seed is not None or args.crash_every):
        args.seeds, args.crash_every = 100, 1
    _paths()
    import matrix

    if args.rules:
        matrix.SETUPS.append(matrix.RULES[args.rules])

    with matrix.fresh_sandbox() as sb:
        baseline = matrix.faulted(sb, None)
    rows = []
    if args.seeds or args.seed is not None:
        rows += faults(matrix, baseline.state, args)
    if args.crash_every:
        rows += crashes(matrix, baseline, args)
    head = [
        "run",
        "n",
        "same as fault-free",
        "differing",
        "what differed",
        "faults/run",
        "reconciles/run",
        "s",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 1 if any(row[1] != row[2] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
