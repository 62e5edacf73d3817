"""A stage commit costs a constant number of requests, at most 6, whatever the number of
files: one branch read (commit and tree in one answer), the commit's archive (the API's 302
and the download), then tree, commit and ref update. Counted by the sandbox."""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import Any

from promotion.fleet import create, fleet, git, load, stage_commit

from bot.adapters.gitdata import GitData, git_blob_sha, unpack_archive
from bot.adapters.github import GitHubClient

REPO = "acme/fleet"


def _shape(count: Any, repo: str) -> list[tuple[str, str]]:
    """The requests, shas and the repository blurred: ("GET", "/repos/R/branches/main")..."""
    out = []
    for method, path, _status, _ms in count.log:
        parts = [p if len(p) != 40 else "SHA" for p in path.split("/")]
        out.append((method, "/".join(parts).replace(f"/{repo}/", "/R/")))
    return out


def test_a_stage_commit_is_six_requests_for_3_files_and_for_60(sandbox) -> None:  # type: ignore[no-untyped-def]
    counts = []
    for repo, services in ((REPO, 1), (REPO + "2", 20)):
        text, files = fleet(services)
        create(sandbox, repo, files)
        count = stage_commit(sandbox, repo, load(text))
        assert count.files == 3 * services
        head = sandbox.git.out(repo, "rev-parse", "refs/heads/main")
        assert count.sha == head
        changed = sandbox.git.out(repo, "diff", "--numstat", "HEAD~1", "HEAD").splitlines()
        assert len(changed) == 3 * services
        assert all(line.split()[:2] == ["1", "1"] for line in changed)  # one line per file
        counts.append(count)
    small, large = counts
    assert small.requests == large.requests <= 6, (_shape(small, REPO), _shape(large, REPO + "2"))
    assert small.writes == large.writes == 3
    assert _shape(large, REPO + "2") == [
        ("GET", "/repos/R/branches/main"),
        ("GET", "/repos/R/tarball/SHA"),
        ("GET", "/_codeload/R/legacy.tar.gz/SHA"),
        ("POST", "/repos/R/git/trees"),
        ("POST", "/repos/R/git/commits"),
        ("PATCH", "/repos/R/git/refs/heads/main"),
    ]


def test_a_second_stage_on_an_unmoved_branch_reads_only_the_branch(sandbox) -> None:  # type: ignore[no-untyped-def]
    """After its own commit the bot knows the new tree's listing and the texts it wrote;
    with a warm cache, bumping the same files again reads one branch and nothing else."""
    _, files = fleet(4)
    create(sandbox, REPO, files)
    with GitHubClient(REPO, sandbox.bot_token(), api_url=sandbox.base_url) as client:
        git = GitData(client)
        tip = git.tip("main")
        git.commit("main", tip, {"deploy/production/svc-000/values.yaml": "image: {}\n"}, "x")
        after = GitData(client)  # a later pass: a new instance, the client's cache
        mark = len(sandbox.server.request_log)
        tip2 = after.tip("main")
        texts = after.read(tip2, ["deploy/production/svc-000/values.yaml"])
        reads = sandbox.server.request_log[mark:]
    assert [r[1].rsplit("/", 1)[-1] for r in reads] == ["main"]
    assert texts == {"deploy/production/svc-000/values.yaml": "image: {}\n"}
    assert tip2.files["deploy/production/svc-000/values.yaml"] == git_blob_sha(b"image: {}\n")
    assert set(tip2.files) == set(tip.files)


def test_the_archive_listing_matches_git(sandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The sandbox's tarball is GitHub's shape (one top folder); the blob shas computed from
    it are git's own, for files, an executable and a symlink."""
    create(sandbox, REPO, {"a.yaml": "a: 1\n", "dir/b.txt": "b\n", "run.sh": "echo\n"})
    work = tmp_path / "work"
    work.mkdir()
    git(work, "clone", "-q", str(sandbox.git.path(REPO)), ".")
    (work / "run.sh").chmod(0o755)
    (work / "link.yaml").symlink_to("a.yaml")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "modes")
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    with GitHubClient(REPO, sandbox.bot_token(), api_url=sandbox.base_url) as client:
        response = client._call("GET", f"/repos/{REPO}/tarball/main")
        assert response.status_code == 200
        data = response.content
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        names = tar.getnames()
    head = sandbox.git.out(REPO, "rev-parse", "main")
    assert f"acme-fleet-{head[:7]}/dir/b.txt" in names
    files, texts = unpack_archive(data)
    listing = sandbox.git.out(REPO, "ls-tree", "-r", "main")
    expected = {line.split("\t")[1]: line.split()[2] for line in listing.splitlines()}
    assert files == expected and "link.yaml" in files and "run.sh" in files
    assert texts[expected["a.yaml"]] == "a: 1\n"


def test_a_codeload_link_needs_its_token(sandbox) -> None:  # type: ignore[no-untyped-def]
    import httpx

    sandbox.scenario.create_repo(REPO, {"a.yaml": "a: 1\n"}, private=True)
    sandbox.scenario.install_bot(REPO)
    auth = {"Authorization": f"token {sandbox.bot_token()}"}
    url = f"{sandbox.base_url}/repos/{REPO}/tarball/main"
    assert httpx.get(url).status_code == 404  # private: not without a token
    redirect = httpx.get(url, headers=auth)
    assert redirect.status_code == 302 and redirect.content == b""
    location = redirect.headers["location"]
    assert "/legacy.tar.gz/" in location and "token=" in location
    assert httpx.get(location).status_code == 200  # no Authorization header needed
    assert httpx.get(location.split("?")[0]).status_code == 404
    forged = location[:-1] + ("1" if location.endswith("0") else "0")
    assert httpx.get(forged).status_code == 404


def _tarball(entries: list[tuple[str, bytes | str]]) -> bytes:
    """A gzipped tar like GitHub's: one top folder; a str value is a symlink target."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        top = tarfile.TarInfo("acme-x-1234567")
        top.type = tarfile.DIRTYPE
        tar.addfile(top)
        for path, value in entries:
            info = tarfile.TarInfo(f"acme-x-1234567/{path}")
            if isinstance(value, str):
                info.type, info.linkname = tarfile.SYMTYPE, value
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    return gzip.compress(buffer.getvalue())


def test_unpack_keeps_utf8_texts_and_lists_every_file() -> None:
    big = b"# " + b"x" * (1 << 20) + b"\n"
    data = _tarball(
        [("a.yaml", b"a: 1\n"), ("bin/logo.png", b"\x89PNG\xff"), ("big.yaml", big),
         ("link.yaml", "a.yaml")]
    )  # fmt: skip
    files, texts = unpack_archive(data)
    assert files == {
        "a.yaml": git_blob_sha(b"a: 1\n"),
        "bin/logo.png": git_blob_sha(b"\x89PNG\xff"),
        "big.yaml": git_blob_sha(big),
        "link.yaml": git_blob_sha(b"a.yaml"),  # git stores a symlink as its target
    }
    assert texts == {git_blob_sha(b"a: 1\n"): "a: 1\n"}  # binary and too big: read per blob


def test_files_the_archive_does_not_keep_are_read_per_blob_without_a_second_archive(
    sandbox: Any,
) -> None:
    bigs = {f"deploy/big{i}.yaml": "#" + "x" * (1 << 20) + f"\nimage: a/b{i}:1\n" for i in range(3)}
    files = {f"deploy/f{i}.yaml": f"image: ghcr.io/acme/s{i}:1.0.0\n" for i in range(4)}
    create(sandbox, REPO, {**files, **bigs})
    with GitHubClient(REPO, sandbox.bot_token(), api_url=sandbox.base_url) as client:
        git = GitData(client)
        mark = len(sandbox.server.request_log)
        tip = git.tip("main")
        texts = git.read(tip, sorted([*files, *bigs]))
        log = sandbox.server.request_log[mark:]
    assert texts == {**files, **bigs}
    kinds = [p.split("/")[4] if p.startswith("/repos/") else "codeload" for _, p, _, _ in log]
    assert kinds == ["branches", "tarball", "codeload", "git", "git", "git"]  # 3 blobs


def test_a_stage_branch_with_a_slash_is_read_and_written(sandbox: Any) -> None:
    head = create(sandbox, REPO, {"deploy/a.yaml": "image: ghcr.io/acme/a:1\n"})
    sandbox.git.run(REPO, "update-ref", "refs/heads/env/prod", head)
    with GitHubClient(REPO, sandbox.bot_token(), api_url=sandbox.base_url) as client:
        git = GitData(client)
        tip = git.tip("env/prod")
        assert tip.commit == head and git.read(tip, ["deploy/a.yaml"])
        sha = git.commit("env/prod", tip, {"deploy/a.yaml": "image: ghcr.io/acme/a:2\n"}, "m")
    assert sha == sandbox.git.out(REPO, "rev-parse", "refs/heads/env/prod")
    assert sandbox.git.out(REPO, "rev-parse", "refs/heads/main") == head
