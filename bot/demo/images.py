"""The demo's images: the sandbox's registry stands in for ghcr.io, and its CI stand-in
pushes each train's images there, built from the merge commit, with the revision label.

`use_registry` moves the demo repository's images to the sandbox's registry (the config
and every manifest naming them, one commit) and turns on the artifact set (`artifacts:`);
`ci_builds` is what CI does after a train merges: for each service the train waits for,
push `<image>:<short sha>` labelled `org.opencontainers.image.revision=<merge sha>`. The
bot then finds them through the OCI Distribution API like any registry.
"""

from __future__ import annotations

from typing import Any

from bot.demo.world import World

GHCR = "ghcr.io/acme/"
ARTIFACTS = "\nartifacts:\n  timeout: 1h\n"


def registry_host(world: World) -> str:
    return str(world.sandbox.base_url).removeprefix("http://").rstrip("/")


def use_registry(world: World, changes: dict[str, str]) -> dict[str, str]:
    """`changes` (path -> text, the scene's commit) with every image moved from ghcr.io to
    the sandbox's registry, Helm values given a `digest` key to pin, and `artifacts:` on."""
    from bot.sandbox.api.oci import registry

    registry(world.sandbox.server).auth = "none"  # public images: anonymous pulls
    host = registry_host(world) + "/acme/"
    out = dict(changes)
    for path in _files_naming(world, GHCR):
        text = out.get(path) or _read(world, path)
        text = text.replace(GHCR, host)
        if path.startswith("deploy/frontend/values") and "\n  digest:" not in text:
            text = text.replace("\n  tag: ", '\n  digest: ""\n  tag: ', 1)
        out[path] = text
    config = next(p for p in out if p.endswith("release-train.yml"))
    out[config] = out[config].rstrip("\n") + "\n" + ARTIFACTS
    return out


def _files_naming(world: World, text: str) -> list[str]:
    """Paths on main whose text names `text`."""
    code, out = world.sandbox.git.run(world.repo, "grep", "-l", "-F", text, "main", ok=(0, 1))
    lines = out.decode().splitlines() if code == 0 else []
    return sorted(line.split(":", 1)[1] for line in lines if ":" in line)


def _read(world: World, path: str) -> str:
    return str(world.sandbox.git.out(world.repo, "show", f"main:{path}"))


def ci_builds(world: World, train_id: str) -> dict[str, str]:
    """CI builds and pushes the images of every service the train waits for, from its merge
    commit; service -> digest (narrated)."""
    from bot.core.artifacts import State, of_record
    from bot.sandbox.api.oci import push_image

    record = world.record(train_id)
    artifacts = of_record(record) if record is not None else None
    if record is None or artifacts is None:
        return {}
    host = registry_host(world) + "/"
    pushed = {}
    for a in artifacts.artifacts:
        if a.state is State.WAITING:
            name = a.repository.removeprefix(host)
            pushed[a.service] = push_image(world.sandbox.server, name, a.tag,
                                           revision=record.merge_sha)  # fmt: skip
    if pushed:
        names = ", ".join(f"{s}:{artifacts.revision[:7]}" for s in pushed)
        world.say("ci", f"builds and pushes {names} (labelled with {record.merge_sha[:7]})")
    return pushed


def shipped(record: Any) -> dict[str, dict[str, str]]:
    """Per service the train's recorded set ships: its image, tag, digest and revision
    (`release-train demo --json`); left-out and failed ones with their state."""
    from bot.core.artifacts import of_record

    try:
        artifacts = of_record(record)
    except ValueError:
        return {}
    rows = artifacts.artifacts if artifacts is not None else ()
    return {
        a.service: {"image": f"{a.repository}:{a.tag}", "digest": a.digest,
                    "revision": a.revision, "state": a.state.value}
        for a in rows
    }  # fmt: skip
