"""`release-train demo`: the one-command story.

- `bot.demo.metrics`: simulated SLIs as a pure function of (query, time), served on
  127.0.0.1 through Prometheus' `/api/v1/query` and `/api/v1/query_range`.
- `bot.demo.narrate`: one line per event with its virtual time.
- `bot.demo.story`: the scripted scenario on a virtual clock: the sandbox, its users'
  actions and the real bot (`bot.shell.reconcile`), checking the states it reaches.
"""
