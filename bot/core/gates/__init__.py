"""The gates: pure units that decide whether a train may merge.

Each module owns one gate: its facts and settings dataclasses, `settings_from_config`, and a
`GATE` object with `name` and `evaluate(facts, settings, now) -> GateResult`. `verdict`
combines results; `checkrun` renders them as GitHub check-run payloads.
"""
