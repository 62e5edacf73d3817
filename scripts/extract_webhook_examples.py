"""Split GitHub's published webhook examples into one small file per event.

Usage: ``python scripts/extract_webhook_examples.py SRC OUTDIR``

SRC is ``api.github.com/index.json`` from the npm package ``@octokit/webhooks-examples``
(``npm pack @octokit/webhooks-examples`` then ``tar xzf <tgz>``). Every example is
kept (329 over 58 events, about 3 MB as compact JSON): OUTDIR/<event>.json holds a
JSON list of example payloads, and OUTDIR/index.json maps each event to its actions
and example count, so tests can find "the pull_request.opened example" quickly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def split(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Map event name -> its example payloads, in the published order."""
    return {event["name"]: list(event["examples"]) for event in events}


def index(by_event: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        name: {
            "examples": len(examples),
            "actions": sorted({str(e["action"]) for e in examples if "action" in e}),
        }
        for name, examples in sorted(by_event.items())
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    source, outdir = Path(argv[0]), Path(argv[1])
    by_event = split(json.loads(source.read_text(encoding="utf-8")))
    outdir.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, examples in by_event.items():
        text = json.dumps(examples, separators=(",", ":"), sort_keys=True)
        (outdir / f"{name}.json").write_text(text + "\n", encoding="utf-8")
        total += len(examples)
    (outdir / "index.json").write_text(
        json.dumps(index(by_event), indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {total} examples over {len(by_event)} events to {outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
