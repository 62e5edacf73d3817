"""`release-train sandbox`: run the local GitHub in the foreground."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.commands._common import add_json_flag, print_json, render_table
from bot.errors import UsageError

if TYPE_CHECKING:
    from bot.sandbox.faults import FaultPlan


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="run a local GitHub (REST over real git) for the demo and tests",
        description="Run the sandbox: a local GitHub-compatible REST API backed by bare git "
        "repositories, with users, tokens, pagination, rate-limit headers, ETags and "
        "webhooks. Prints the base URL, each user's token and the GitHub App's id, "
        "installation and private key file (DATA/app.pem), then serves until "
        "interrupted. State lives in --data (a temporary directory if not given).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--data", metavar="DIR", type=Path, help="state directory (kept across runs)"
    )
    parser.add_argument("--webhook-url", metavar="URL", help="deliver signed webhooks here")
    parser.add_argument("--webhook-secret", metavar="S", help="secret for X-Hub-Signature-256")
    parser.add_argument(
        "--seed",
        metavar="FILE",
        type=Path,
        help="a JSON/YAML scenario: demo, users, teams, repos, pulls",
    )
    parser.add_argument(
        "--faults",
        metavar="FILE",
        type=Path,
        help="a JSON/YAML fault plan (seed, probability, kinds, per_endpoint, latency_ms, "
        "script, ...; see bot.sandbox.faults.plan_from_mapping)",
    )
    parser.add_argument(
        "--no-demo", action="store_true", help="do not create the demo repository acme/shop"
    )
    add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import signal
    import sys
    import threading

    from bot.sandbox import appauth
    from bot.sandbox.runner import run_sandbox
    from bot.sandbox.scenario import BOT_INSTALLATION, BOT_LOGIN
    from bot.sandbox.seed import apply_seed, load_seed

    if (args.webhook_url is None) != (args.webhook_secret is None):
        raise UsageError("--webhook-url and --webhook-secret go together")
    seed = _read_seed(args.seed, load_seed) if args.seed else {}
    plan = _read_faults(args.faults, load_seed) if args.faults else None
    stop = threading.Event()
    with run_sandbox(
        args.data,
        host=args.host,
        port=args.port,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        faults=plan,
    ) as sb:
        repos = [] if args.no_demo else [sb.scenario.demo()]
        repos += [
            r
            for r in apply_seed(sb.scenario, seed, args.seed.parent if args.seed else Path.cwd())
            if r not in repos
        ]
        users = [u["login"] for u in sb.store.data["users"].values() if u["type"] == "User"]
        tokens = {login: sb.token(login) for login in users}
        tokens[BOT_LOGIN] = sb.bot_token()
        app = {
            "id": appauth.app_id(sb.store),
            "installation_id": BOT_INSTALLATION,
            "private_key": str(appauth.write_private_key(sb.store, sb.data_dir / "app.pem")),
        }
        _report(args.json, sb.base_url, repos, tokens, sb.data_dir, app, args.faults)
        sys.stdout.flush()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    return 0


def _read_seed(path: Path, load: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    from ruamel.yaml import YAMLError

    try:
        return load(path)
    except (OSError, ValueError, YAMLError) as exc:
        raise UsageError(f"--seed {path}: {exc}") from None


def _read_faults(path: Path, load: Callable[[Path], dict[str, Any]]) -> FaultPlan:
    """A fault plan file; a bad file or key is a usage error naming it."""
    from ruamel.yaml import YAMLError

    from bot.sandbox.faults import plan_from_mapping

    try:
        return plan_from_mapping(load(path))
    except (OSError, ValueError, TypeError, YAMLError) as exc:
        raise UsageError(f"--faults {path}: {exc}") from None


def _report(
    as_json: bool,
    url: str,
    repos: list[str],
    tokens: dict[str, str],
    data: Path,
    app: dict[str, Any],
    faults: Path | None,
) -> None:
    if as_json:
        print_json(
            {
                "base_url": url,
                "repositories": repos,
                "tokens": tokens,
                "data": str(data),
                "app": app,
                "faults": str(faults) if faults else None,
                "registry": url.removeprefix("http://"),
            }
        )
        return
    print(f"sandbox: {url}  (githubkit base_url: {url}/)")
    print(f"data:    {data}")
    host = url.removeprefix("http://")
    print(f"registry: {host}  (OCI Distribution API; images as {host}/NAME:TAG)")
    if repos:
        print(f"repos:   {', '.join(repos)}")
    print(f"app:     id {app['id']}, installation {app['installation_id']}")
    print(f"app key: {app['private_key']}")
    if faults:
        print(f"faults:  {faults}")
    print()
    print(render_table(["user", "token"], [[u, t] for u, t in tokens.items()]))
    print("\nCtrl-C to stop.")
