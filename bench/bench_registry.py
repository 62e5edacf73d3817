"""Registry benchmark: requests and time to resolve a train's artifacts.

Usage: .venv/bin/python bench/bench_registry.py [--quick]

For a train of N services (images pushed with their revision label) on each registry — the
sandbox's OCI subset (Bearer challenge, anonymous token) and, when `docker-registry` is
unpacked in .cache, CNCF Distribution anonymous, htpasswd (Basic) and token auth — one
`RegistryClient` per train resolves every service (manifest + config), then re-checks each
tag with HEAD once per stage (3 stages). The client is told the train's images first
(`expect`), so a Bearer registry costs one token request per train, not per repository.
Goal (issue #14): <= 2 requests per service to resolve + 1 per service per stage; the first
request to a registry adds its challenge.

Then one train through the real bot (`train_figures`): registry requests per reconcile while
it waits, to resolve once pushed, per later stage, and the delay from the push to the stage
bump in reconciles (the reconcile a build webhook starts is the first one after the push).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "registry")]

from oci_images import DistributionServer, Pusher, registry_bin  # noqa: E402

from bot.adapters.registry import Image, RegistryClient  # noqa: E402
from bot.config.imageref import parse_image  # noqa: E402
from bot.config.outbound import Endpoint, OutboundPolicy  # noqa: E402
from bot.sandbox.api.oci import registry  # noqa: E402
from bot.sandbox.runner import run_sandbox  # noqa: E402

USER, PASSWORD = "bench", "bench-password"
SHA = "0123456789abcdef0123456789abcdef01234567"
STAGES = 3


@contextmanager
def registries(base: Path) -> Iterator[list[tuple[str, str, Pusher, OutboundPolicy]]]:
    """(label, url, pusher, policy) per registry under test."""
    with ExitStack() as stack:
        sb = stack.enter_context(run_sandbox(base / "sandbox", durable=False))
        reg = registry(sb.server)
        reg.auth, reg.users = "bearer", {USER: PASSWORD}
        found = [("sandbox (bearer)", sb.base_url, OutboundPolicy(), (USER, PASSWORD))]
        if registry_bin() is not None:
            users = {USER: PASSWORD}
            for label, kw in (
                ("distribution (anonymous)", {}),
                ("distribution (htpasswd)", {"users": users}),
                ("distribution (token)", {"users": users, "token": True}),
            ):
                server = stack.enter_context(
                    DistributionServer.start(base / label.split()[1].strip("()"), **kw)  # type: ignore[arg-type]
                )
                creds = Endpoint(server.url, "source bench", trusted=True,
                                 basic_auth=(USER, PASSWORD))  # fmt: skip
                policy = (
                    OutboundPolicy(sources=(creds,)) if "htpasswd" in label else OutboundPolicy()
                )
                found.append(
                    (label, server.url, policy, None if "anonymous" in label else (USER, PASSWORD))
                )
        out = []
        for label, url, policy, auth in found:
            pusher = Pusher(url, auth)
            stack.callback(pusher.close)
            out.append((label, url, pusher, policy))
        yield out


def measure(url: str, pusher: Pusher, policy: OutboundPolicy, services: int) -> dict[str, float]:
    host = url.removeprefix("http://")
    refs = []
    for i in range(services):
        name = f"bench/service-{i}-{time.monotonic_ns()}"
        pusher.image(name, SHA[:7], revision=SHA)
        refs.append(parse_image(f"{host}/{name}:{SHA[:7]}"))
    with RegistryClient(policy) as client:
        client.expect(refs)
        started = time.perf_counter()
        for ref in refs:
            assert isinstance(client.resolve(ref), Image)
        resolve_ms = (time.perf_counter() - started) * 1000
        resolve_requests = client.requests
        started = time.perf_counter()
        for _ in range(STAGES):
            for ref in refs:
                client.head(ref)
        head_ms = (time.perf_counter() - started) * 1000
        head_requests = client.requests - resolve_requests
    return {
        "resolve_requests": resolve_requests,
        "per_service": resolve_requests / services,
        "head_per_stage_service": head_requests / (STAGES * services),
        "resolve_ms_per_service": resolve_ms / services,
        "head_ms": head_ms / (STAGES * services),
    }


def train_figures(base: Path) -> dict[str, float]:
    """One train through the real bot (sandbox GitHub + the sandbox's registry, anonymous):
    registry requests per train (waiting polls, resolves, the HEAD before each later
    stage) and the delay from an image push to its stage bump in reconciles (a tick: a
    cron tick, or the reconcile a build webhook starts)."""
    from artifact_train import AFTER, M, artifact_train
    from oci_images import Oci

    with run_sandbox(base / "train", durable=False) as sb:
        reg = registry(sb.server)
        reg.auth = "none"
        pusher = Pusher(sb.base_url)
        oci = Oci("sandbox-anonymous", sb.base_url, sb.base_url.removeprefix("http://"), pusher,
                  False, server=sb.server)  # fmt: skip
        train = artifact_train(sb, oci)
        log = sb.server.request_log

        def registry_requests() -> int:
            return sum(1 for r in log if r[1].startswith("/v2/"))

        start = registry_requests()
        train.reconcile(0 * M)  # merges: nothing pushed yet, both services wait
        waiting_ticks = 2
        for tick in range(1, waiting_ticks + 1):
            train.reconcile(tick * M)  # CI still building
        waited = registry_requests() - start
        sha = train.record()["merge_sha"]
        for service in ("web", "api"):
            train.push(service, sha[:7], sha)
        pushed = registry_requests()
        ticks = 0
        while train.record()["state"] != "promoting" and ticks < 5:
            ticks += 1  # the webhook the push sends starts this reconcile
            train.reconcile((waiting_ticks + ticks) * M)
        resolved = registry_requests() - pushed
        after = registry_requests()
        for at in AFTER[1:]:
            train.reconcile(at + waiting_ticks * M)
        stages = registry_requests() - after
        pusher.close()
        services, later = 2, 3
        return {
            "waiting": waited / (services * (waiting_ticks + 1)),
            "resolve": resolved / services,
            "per_stage": stages / (services * later),
            "ticks": ticks,
            "state": train.record()["state"] == "completed",
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 services instead of 20")
    args = parser.parse_args(argv)
    services = 5 if args.quick else 20
    if registry_bin() is None:
        print("(docker-registry not found: only the sandbox; run .ci/install-system-deps.sh)\n")
    print(f"{services} services, {STAGES} stages; one RegistryClient per train\n")
    print("| registry | requests to resolve all | per service | HEAD per service per stage "
          "| ms per resolve | ms per HEAD |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    with (
        tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp,
        registries(Path(tmp)) as found,
    ):
        for label, url, pusher, policy in found:
            m = measure(url, pusher, policy, services)
            print(f"| {label} | {m['resolve_requests']:.0f} | {m['per_service']:.2f} | "
                  f"{m['head_per_stage_service']:.2f} | {m['resolve_ms_per_service']:.1f} | "
                  f"{m['head_ms']:.1f} |")  # fmt: skip
        f = train_figures(Path(tmp))
    print("\nOne train through the bot (2 services, 4 steps; sandbox GitHub and registry):")
    print(f"- registry requests per service per reconcile while waiting: {f['waiting']:.2f}")
    print(f"- registry requests per service to resolve once pushed: {f['resolve']:.2f}")
    print(f"- registry requests per service per later stage (HEAD): {f['per_stage']:.2f}")
    print(f"- push -> staging bump: {f['ticks']:.0f} reconcile(s) after the push "
          f"(train completed: {bool(f['state'])})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
