"""Merged, validated configuration data → the typed model in `bot.config.model`.

Call only on data that passed the schema and the semantic checks: this module trusts shapes.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from bot.config.durations import parse_duration
from bot.config.model import (
    SLO,
    ApprovalRule,
    ArgoCD,
    Artifacts,
    BoardingRules,
    BurnRate,
    ChatOps,
    Comparison,
    Config,
    Culprit,
    Cutover,
    CutoverWindow,
    Freeze,
    Gates,
    Incident,
    NoteCategory,
    Prometheus,
    Release,
    Service,
    Stage,
    Train,
    Wave,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def build_config(data: dict[str, Any]) -> Config:
    return Config(
        trains=tuple(build_train(t) for t in data.get("trains", [])),
        services=tuple(build_service(s) for s in data.get("services", [])),
        stages=tuple(build_stage(s) for s in data.get("stages", [])),
        slos=tuple(build_slo(s) for s in data.get("slos", [])),
        cutover=build_cutover(data.get("cutover", {})),
        freezes=tuple(build_freezes(data)),
        gates=build_gates(data.get("gates", {})),
        prometheus=build_prometheus(data.get("prometheus", {})),
        artifacts=build_artifacts(data["artifacts"]) if "artifacts" in data else Artifacts(),
        release=Release(**data.get("release", {})),
        culprit=build_culprit(data.get("culprit", {})),
        incident=Incident(**_tuples(data.get("incident", {}))),
        chatops=ChatOps(**data.get("chatops", {})),
        ledger_branch=data.get("ledger", {}).get("branch", Config.ledger_branch),
        accept_from=tuple(data.get("accept_from", [])),
    )


def _tuples(mapping: dict[str, Any]) -> dict[str, Any]:
    """Lists become tuples (the model is frozen and hashable-ish)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in mapping.items()}


def _dur(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {key: parse_duration(mapping[key])} if key in mapping else {}


def build_train(data: dict[str, Any]) -> Train:
    fields = _tuples({k: v for k, v in data.items() if k not in ("boarding", "deadlines", "notes")})
    deadlines = tuple(
        (state, parse_duration(text)) for state, text in data.get("deadlines", {}).items()
    )
    notes = tuple(NoteCategory(n["title"], tuple(n["labels"])) for n in data.get("notes", []))
    return Train(
        **fields,
        boarding=BoardingRules(**data.get("boarding", {})),
        deadlines=deadlines,
        notes=notes,
    )


def build_service(data: dict[str, Any]) -> Service:
    return Service(**_tuples(data))


def build_stage(data: dict[str, Any]) -> Stage:
    fields = _tuples({k: v for k, v in data.items() if k not in ("soak", "waves", "argocd")})
    stage_soak = parse_duration(data["soak"]) if "soak" in data else Stage.soak
    waves = tuple(
        Wave(
            w["name"],
            tuple(w["manifests"]),
            parse_duration(w["soak"]) if "soak" in w else stage_soak,
        )
        for w in data.get("waves", [])
    )
    argocd = build_argocd(data["argocd"]) if "argocd" in data else None
    return Stage(**fields, soak=stage_soak, waves=waves, argocd=argocd)


def build_argocd(data: dict[str, Any]) -> ArgoCD:
    fields = _tuples({k: v for k, v in data.items() if k != "health_timeout"})
    return ArgoCD(**fields, **_dur(data, "health_timeout"))


def build_slo(data: dict[str, Any]) -> SLO:
    durations = ("window", "inconclusive_after", "initial_delay", "interval")
    nested = (*durations, "burn_rates", "compare", "rules")
    plain = {k: v for k, v in data.items() if k not in nested}
    if "objective" in plain:
        plain["objective"] = float(plain["objective"])
    if "by" in plain:
        plain["by"] = tuple(plain["by"])
    if "threshold" in plain:
        plain["threshold"] = float(plain["threshold"])
    rules = tuple(
        BurnRate(parse_duration(r["long"]), parse_duration(r["short"]), float(r["factor"]))
        for r in data.get("burn_rates", [])
    )
    compare = None
    if "compare" in data:
        c = dict(data["compare"])
        step: dict[str, Any] = {"step": parse_duration(c.pop("step"))} if "step" in c else {}
        compare = Comparison(**c, **step)
    if plain.get("histogram"):
        from bot.config.slo_histogram import bucket_queries

        by = plain.get("by", ())
        plain["good"], plain["total"] = bucket_queries(plain["histogram"], plain["threshold"], by)
    return SLO(
        **plain,
        **{k: v for key in durations for k, v in _dur(data, key).items()},
        burn_rates=rules,
        compare=compare,
        rules=tuple(sorted((parse_duration(w), q) for w, q in (data.get("rules") or {}).items())),
    )


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def build_cutover(data: dict[str, Any]) -> Cutover:
    windows = tuple(
        CutoverWindow(tuple(DAYS.index(d) for d in w["days"]), _clock(w["from"]), _clock(w["to"]))
        for w in data.get("windows", [])
    )
    return Cutover(timezone=data.get("timezone", "UTC"), windows=windows)


def _day(text: str, yearly: bool) -> date:
    parts = [int(p) for p in text.split("-")]
    year = 2000 if yearly or len(parts) == 2 else parts[0]
    return date(year, parts[-2], parts[-1])


def build_freezes(data: dict[str, Any]) -> list[Freeze]:
    """The freezes of merged data (trusting shapes; used by the coverage check too)."""
    out = []
    for item in data.get("freezes") or []:
        yearly = item.get("yearly") is True
        out.append(
            Freeze(
                name=item["name"],
                start=_day(item["from"], yearly),
                end=_day(item["to"], yearly),
                reason=item.get("reason", ""),
                yearly=yearly,
            )
        )
    return out


def _approvals(data: dict[str, Any] | None, default: ApprovalRule) -> ApprovalRule:
    if not data:
        return default
    merged = {**default.__dict__, **_tuples(data)}
    return ApprovalRule(**merged)


def build_gates(data: dict[str, Any]) -> Gates:
    policy = dict(data.get("policy", {}))
    approvals = _approvals(policy.get("approvals"), ApprovalRule())
    emergency = _approvals(policy.get("emergency_approvals"), ApprovalRule(required=2))
    return Gates(
        ci=dict(data.get("ci", {})),
        security=dict(data.get("security", {})),
        manifests=dict(data.get("manifests", {})),
        policy=policy,
        error_budget=dict(data.get("error_budget", {})),
        flags=dict(data.get("flags", {})),
        migrations=dict(data.get("migrations", {})),
        allow_neutral=tuple(data.get("allow_neutral", ())),
        approvals=approvals,
        emergency_approvals=emergency,
    )


def build_prometheus(data: dict[str, Any]) -> Prometheus:
    fields = {k: v for k, v in data.items() if k not in ("headers", "timeout")}
    headers = tuple(sorted(data.get("headers", {}).items()))
    timeout = parse_duration(data["timeout"]) if "timeout" in data else Prometheus.timeout
    return Prometheus(**fields, headers=headers, timeout=timeout)


def build_artifacts(data: dict[str, Any]) -> Artifacts:
    pin = data.get("pin", Artifacts.pin)
    pins: tuple[tuple[str, str], ...] = ()
    if isinstance(pin, dict):
        pins = tuple(sorted((k, v) for k, v in pin.items() if k != "default"))
        pin = pin.get("default", Artifacts.pin)
    timeout = parse_duration(data["timeout"]) if "timeout" in data else Artifacts.timeout
    rest = {k: v for k, v in data.items() if k in ("built_by", "platform")}
    return Artifacts(timeout=timeout, pin=pin, pins=pins, enabled=True, **rest)


def build_culprit(data: dict[str, Any]) -> Culprit:
    bisect = data.get("bisect", True)
    rest = {k: v for k, v in data.items() if k in ("max_rounds", "parallel", "rerun_flaky")}
    timeout = parse_duration(data["timeout"]) if "timeout" in data else Culprit.timeout
    return Culprit(
        bisect=bisect in (True, "on"), ci=tuple(data.get("ci", ())), timeout=timeout, **rest
    )
