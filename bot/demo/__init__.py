"""`release-train demo`: the one-command story.

- `bot.demo.metrics`: simulated SLIs as a pure function of (query, time), served on
  127.0.0.1 through Prometheus' `/api/v1/query` and `/api/v1/query_range`.
- `bot.demo.narrate`: one line per event with its virtual time.
- `bot.demo.scene`: the demo's settings and changes as plain values (config overrides,
  CODEOWNERS, the developers' PRs, the breach plan).
- `bot.demo.world`: the sandbox, the virtual clock and the real bot (`World.reconcile`).
- `bot.demo.story`: the scripted scenario: people's actions, the bot's reconciles, and the
  checks of the states it reaches; says plainly when a phase is not built.
- `bot.demo.run`: `run_demo(options, stream, on_keep)` starts everything and reports.
"""
