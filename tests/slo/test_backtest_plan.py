"""The backtest's range plan, as plain values: which range queries answer a soak's checks,
how their answers are read back per tick, and a replay over answers given as data."""

from __future__ import annotations

from datetime import timedelta

from bot.config.model import SLO
from bot.core.slo import backtest as bt
from bot.core.slo.backtest_plan import (
    PART,
    Lookup,
    RangeRequest,
    chunks,
    combined,
    merge,
    plan_requests,
    ticks,
)
from bot.core.slo.plan import MAX_POINTS, QuerySpec, plan_queries
from bot.core.slo.results import Answer, ErrorValue, QueryResult, RangeResult, Series

from .helpers import AT

M = timedelta(minutes=1)
SLO_ = SLO(name="availability", error_ratio="errors[{window}] / total[{window}]")


def _specs(since_minutes: int, minutes: int) -> list[QuerySpec]:
    since = AT - since_minutes * M
    return [
        s for at in ticks(AT, AT + minutes * M, M) for s in plan_queries(SLO_, "c", "", at, since)
    ]


def test_ticks_include_both_ends() -> None:
    assert ticks(AT, AT + 3 * M, M) == [AT + k * M for k in range(4)]
    assert ticks(AT, AT - M, M) == []


def test_a_settled_soak_is_one_range_query_per_window() -> None:
    """Six hours after the bump no window is cut: four windows, four requests, whatever
    the number of ticks."""
    requests, _ = plan_requests(_specs(6 * 60, 1440), M)
    assert sorted(r.promql for r in requests) == sorted(
        f"errors[{w}] / total[{w}]" for w in ("5m", "30m", "1h", "6h")
    )
    assert {(r.start, r.end) for r in requests} == {(AT, AT + 1440 * M)}


def test_a_young_soak_adds_the_cut_windows_in_combined_requests() -> None:
    """From the bump on, every tick asks its own cut window: those go in requests of at
    most 120 labelled parts; each configured window is one request from when it is whole."""
    requests, sources = plan_requests(_specs(0, 400), M)
    whole = [r for r in requests if not r.parts]
    cut = [r for r in requests if r.parts]
    assert len(whole) == 4 and len(cut) == 3
    # 1m..5h59m, less 5m, 30m and 1h (the same text as the whole windows): in parts of 120
    assert sum(len(r.parts) for r in cut) == 359 - 3
    by_text = {r.promql: r for r in whole}
    assert by_text["errors[6h] / total[6h]"].start == AT + 360 * M
    assert sources["errors[17m] / total[17m]"].part is not None


def test_combined_parts_are_labelled() -> None:
    assert combined(("a", "b")) == (
        f'label_replace((a), "{PART}", "0", "", "") or label_replace((b), "{PART}", "1", "", "")'
    )
    assert combined(("a",), "vector").startswith("label_replace(vector(a)")


def test_long_requests_are_split_at_the_prometheus_limit() -> None:
    week = RangeRequest("q", AT, AT + 7 * 1440 * M, M)
    assert chunks(week) == [(AT, AT + 7 * 1440 * M)]  # 10,081 points fit
    long = RangeRequest("q", AT, AT + 20_000 * M, M)
    parts = chunks(long)
    assert parts[0] == (AT, AT + (MAX_POINTS - 1) * M)
    assert parts[1] == (AT + MAX_POINTS * M, AT + 20_000 * M)


def test_merge_joins_series_by_labels() -> None:
    a = RangeResult((Series((("i", "1"),), ((1.0, 1.0),)),), ("partial",))
    b = RangeResult((Series((("i", "1"),), ((2.0, 2.0),)), Series((), ((2.0, 5.0),))))
    merged = merge([a, b])
    assert merged.warnings == ("partial",)
    assert {s.labels: s.points for s in merged.series} == {
        (("i", "1"),): ((1.0, 1.0), (2.0, 2.0)),
        (): ((2.0, 5.0),),
    }


def _answered(fill: float | None, missing_at: int | None = None) -> dict[RangeRequest, Answer]:
    """Every request of a 10-minute soak answered with `fill` at each tick (None: empty),
    except at minute `missing_at`."""
    plan = bt.plan([bt.Job(SLO_, "")], "c", ticks(AT, AT + 10 * M, M), AT, M)
    out: dict[RangeRequest, Answer] = {}
    for r in plan.requests:
        series = []
        for n in range(len(r.parts) or 1):
            labels = ((PART, str(n)),) if r.parts else ()
            points = tuple(
                (at.timestamp(), fill)
                for k, at in enumerate(ticks(r.start, r.end, r.step))
                if fill is not None and (r.start - AT) // M + k != missing_at
            )
            series.append(Series(labels, points))
        out[r] = RangeResult(tuple(series))
    return out


def _timeline(fetched: dict[RangeRequest, Answer]) -> bt.Timeline:
    plan = bt.plan([bt.Job(SLO_, "")], "c", ticks(AT, AT + 10 * M, M), AT, M)
    return bt.replay(plan, fetched)


def test_a_gap_in_the_range_is_inconclusive_never_pass() -> None:
    timeline = _timeline(_answered(0.0, missing_at=4))
    verdicts = [p.verdict.value for p in timeline.points]
    assert verdicts[0] == "inconclusive"  # the bump itself
    assert verdicts[4] == "inconclusive" and "no data" in timeline.points[4].results[0].reason
    assert set(verdicts[1:4] + verdicts[5:]) == {"pass"}
    assert {p.verdict.value for p in _timeline(_answered(None)).points} == {"inconclusive"}


def test_a_breach_reverts_at_the_first_fail_by_default() -> None:
    timeline = _timeline(_answered(1.0))
    assert timeline.stop is not None and timeline.stop.at == AT + M
    assert timeline.counts() == {"pass": 0, "fail": 10, "inconclusive": 1, "error": 0}


def test_a_rejected_request_is_an_error_at_its_ticks() -> None:
    fetched = {r: ErrorValue("bad query", status=400) for r in _answered(0.0)}
    timeline = _timeline(fetched)
    assert timeline.counts()["error"] == 10 and timeline.stop is None
    assert "query rejected: bad query" in timeline.points[1].results[0].reason


def test_lookup_reads_a_part_at_its_tick_without_the_part_label() -> None:
    request = RangeRequest(combined(("a", "b")), AT, AT + M, M, ("a", "b"))
    got = RangeResult(
        (
            Series(((PART, "0"), ("i", "x")), ((AT.timestamp(), 1.0), ((AT + M).timestamp(), 2.0))),
            Series(((PART, "1"), ("i", "x")), (((AT + M).timestamp(), 3.0),)),
        )
    )
    from bot.core.slo.backtest_plan import Source

    lookup = Lookup({"a": Source(request, "0"), "b": Source(request, "1")}, {request: got})
    answer = lookup.answer(QuerySpec("error_ratio", "b", AT + M))
    assert isinstance(answer, QueryResult)
    assert [(s.labels, s.value) for s in answer.samples] == [((("i", "x"),), 3.0)]
    empty = lookup.answer(QuerySpec("error_ratio", "b", AT))
    assert isinstance(empty, QueryResult) and empty.empty


def test_the_svg_timeline_is_well_formed_and_escapes_names() -> None:
    from xml.etree import ElementTree

    from bot.core.slo.backtest_svg import render_svg

    slo = SLO(name="a<b&c", error_ratio="errors[{window}] / total[{window}]")
    plan = bt.plan([bt.Job(slo, "web")], "c", ticks(AT, AT + 10 * M, M), AT, M)
    svg = render_svg(bt.replay(plan, _answered(1.0)))
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert "a<b&c/web" in texts and "stage c" in texts
    assert "revert 2026-11-26T12:01:00Z" in texts
    colours = [r.get("fill") for r in root.iter(f"{ns}rect")]
    assert colours == ["#8c959f", "#cf222e"] * 2  # the bump (inconclusive), then fails
