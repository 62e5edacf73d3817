"""The gates: pure units that decide whether a train may merge.

One module per gate (`ci`, `security`, `manifests`, `policy`, `error_budget`, and `flags`
and `migrations`, which run only when configured under `gates:`), each with its
facts and settings dataclasses, `settings_from_config`, and a `GATE` object with `name` and
`evaluate(facts, settings, now) -> GateResult` (see `base`). Around them:

- `registry`: every gate in order, `load_settings(config.gates)`, `evaluate_all(...)`;
- `verdict`: `train_verdict(results, allow_neutral)` and ledger `transitions`;
- `checkrun`: check-run payloads within GitHub's limits, batching, idempotent publishing;
- `from_github`: GitHub JSON (REST and webhooks) parsed into facts, once, at the edge;
- `events`: which deliveries ask for a re-evaluation or a hold;
- `codeowners`: CODEOWNERS parsing and GitHub's matching rules;
- `lifecycle`: `gate_verdict(config, record, pr, world, now)` for the lifecycle's merge step;
- `k8s_schemas`: the source of the shipped `schemas/k8s/*.json`.
"""
