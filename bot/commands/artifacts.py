"""`release-train artifacts`: resolve each service's image for a revision in its registry
and say whether it is there and was built from that revision."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.commands._common import add_json_flag, add_now_flag, parse_instant, print_json
from bot.config.repo import CONFIG_PATH
from bot.errors import EXIT_CHECK_FAILED, EXIT_EXTERNAL, EXIT_OK, UsageError

if TYPE_CHECKING:
    from bot.config.model import Config, Train
    from bot.core.artifacts import Artifact, ArtifactSet

DEFAULT_CONFIG = CONFIG_PATH
DESCRIPTION = """\
Resolve each service's image for --revision: the tag its `tag` template renders
(e.g. {short_sha}) is looked up in the registry over the OCI Distribution API, and the
image's org.opencontainers.image.revision label (or annotation) is compared with the
revision. Each service is then:
  found      the tag exists and was built from --revision (or --same-tree commits)
  missing    no such tag (yet): a train would wait, then leave the service out
  failed     built from another commit (both named), or no revision label
  error      the registry failed or refused (the message names the credential to set)
Exit 0 when every image is found, 1 when one failed or is missing, else 4 when the
registry failed.

Registry credentials come only from the operator: a source in the file
RELEASE_TRAIN_SOURCES names whose url is the registry's origin (https://ghcr.io,
https://registry-1.docker.io, http://registry.internal:5000) with username_env +
password_env, or token_env. Loopback registries are spoken to over plain HTTP."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "artifacts",
        help="resolve each service's image for a revision in its registry",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"config file (default: {DEFAULT_CONFIG})"
    )
    parser.add_argument(
        "--revision", required=True, metavar="SHA",
        help="the commit the images must be built from (40 hex digits)",
    )  # fmt: skip
    parser.add_argument(
        "--service", action="append", metavar="NAME",
        help="only this service (repeatable; default: every one)",
    )  # fmt: skip
    parser.add_argument("--train", metavar="NAME", help="the train line (default: the first)")
    parser.add_argument(
        "--train-id", metavar="ID",
        help="the train id for {train} in tags (default: NAME-YYYY-MM-DD)",
    )  # fmt: skip
    parser.add_argument(
        "--same-tree", action="append", default=[], metavar="SHA",
        help="a commit with the same tree as --revision whose images count too",
    )  # fmt: skip
    add_now_flag(parser)
    add_json_flag(parser)
    parser.set_defaults(func=run)


def _train(config: Config, name: str | None) -> Train:
    if name is None:
        return config.trains[0]
    for train in config.trains:
        if train.name == name:
            return train
    known = ", ".join(t.name for t in config.trains)
    raise UsageError(f"--train: no train {name!r} in the config (trains: {known})")


def _check_args(config: Config, args: argparse.Namespace) -> None:
    revision = str(args.revision).lower()
    if len(revision) != 40 or any(c not in "0123456789abcdef" for c in revision):
        raise UsageError(f"--revision: {args.revision!r} is not a full commit sha (40 hex)")
    unknown = [s for s in args.service or () if s not in {x.name for x in config.services}]
    if unknown:
        known = ", ".join(s.name for s in config.services) or "none"
        raise UsageError(f"--service: no service {unknown[0]!r} (services: {known})")
    if not config.services:
        raise UsageError(f"{args.config}: no services to resolve")


def resolve(config: Config, args: argparse.Namespace) -> tuple[ArtifactSet, dict[str, str], int]:
    """(the artifact set, service -> registry error, requests sent)."""
    from bot.adapters.registry import RegistryClient
    from bot.config.operator import outbound_from_env
    from bot.core.artifacts import decide, wanted
    from bot.shell.artifacts_io import observe

    now = parse_instant(args.now)
    train = _train(config, args.train)
    train_id = args.train_id or f"{train.name}-{now:%Y-%m-%d}"
    revision = str(args.revision).lower()
    refs = [
        (s, r) for s, r in wanted(config, train, None, revision, train_id, now)
        if not args.service or s.name in args.service
    ]  # fmt: skip
    policy = outbound_from_env(os.environ)
    with RegistryClient(policy, platform=config.artifacts.platform) as client:
        client.expect(ref for _, ref in refs)
        seen = {service.name: observe(client, ref) for service, ref in refs}
        requests = client.requests
    result = decide(config, refs, seen, revision=revision, waiting_since=now, now=now,
                    same_tree=[s.lower() for s in args.same_tree])  # fmt: skip
    errors = {name: o.error for name, o in seen.items() if o.error}
    return result, errors, requests


def _state(artifact: Artifact, errors: dict[str, str]) -> str:
    if artifact.service in errors:
        return "error"
    return {"waiting": "missing", "left-out": "missing"}.get(artifact.state.value,
                                                              artifact.state.value)  # fmt: skip


def exit_code(states: list[str]) -> int:
    if "failed" in states or "missing" in states:
        return EXIT_CHECK_FAILED
    return EXIT_EXTERNAL if "error" in states else EXIT_OK


def run(args: argparse.Namespace) -> int:
    from bot.config.load import load_config

    config = load_config(Path(args.config))
    _check_args(config, args)
    result, errors, requests = resolve(config, args)
    rows = []
    for a in result.artifacts:
        state = _state(a, errors)
        reason = errors.get(a.service) or ("" if state == "found" else a.reason)
        rows.append({"service": a.service, "image": f"{a.repository}:{a.tag}", "state": state,
                     "digest": a.digest, "revision": a.revision, "pin": a.pin,
                     "pinned": a.image if state == "found" else "", "reason": reason})  # fmt: skip
    if args.json:
        print_json({"revision": result.revision, "requests": requests, "artifacts": rows})
    else:
        print(render_text(result.revision, rows, requests))
    return exit_code([r["state"] for r in rows])


def render_text(revision: str, rows: list[dict[str, str]], requests: int) -> str:
    lines = [f"artifacts for {revision[:12]} ({requests} registry requests)"]
    for row in rows:
        lines.append(f"  {row['service']}: {row['state']}  {row['image']}")
        if row["digest"]:
            lines.append(f"    digest {row['digest']}  revision {row['revision'] or '-'}")
        if row["reason"]:
            lines.append(f"    {row['reason']}")
    return "\n".join(lines)
