"""CODEOWNERS routing, pinned to the examples of GitHub's "About code owners" page."""

from __future__ import annotations

import pytest

from bot.core.gates.codeowners import compile_pattern, parse_codeowners

GITHUB_EXAMPLE = """\
# This is a comment.
# Each line is a file pattern followed by one or more owners.
*       @global-owner1 @global-owner2
*.js    @js-owner #This is an inline comment.
*.go docs@example.com
*.txt @octo-org/octocats
/build/logs/ @doctocat
docs/* docs@example.com
apps/ @octocat
/docs/ @doctocat
/scripts/ @doctocat @octocat
**/logs @octocat
/apps/ @octocat
/apps/github
"""


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@global-owner1", "@global-owner2")),
        ("some/deeply/nested/file.rb", ("@global-owner1", "@global-owner2")),
        ("src/app.js", ("@js-owner",)),
        ("main.go", ("docs@example.com",)),
        ("notes/todo.txt", ("@octo-org/octocats",)),
        ("build/logs/today/run.log", ("@octocat",)),  # `**/logs` comes after `/build/logs/`
        ("docs/getting-started.md", ("@doctocat",)),  # /docs/ comes later and wins
        ("apps/web/index.html", ("@octocat",)),
        ("apps/github/hooks.py", ()),  # the last rule has no owners: unowned
        ("scripts/deploy.sh", ("@doctocat", "@octocat")),
        ("deep/down/logs/x.txt", ("@octocat",)),
        ("logs", ("@octocat",)),
    ],
)
def test_github_documented_example(path: str, owners: tuple[str, ...]) -> None:
    assert parse_codeowners(GITHUB_EXAMPLE).owners_of(path) == owners


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("docs/*", ["docs/getting-started.md"], ["docs/build-app/troubleshooting.md", "a/docs/x"]),
        ("apps/", ["apps/x", "nested/apps/y/z"], ["apps", "myapps/x"]),
        ("/apps/", ["apps/x/y"], ["nested/apps/y"]),
        ("/build/logs/", ["build/logs/a", "build/logs/a/b"], ["x/build/logs/a", "build/logs"]),
        ("*.js", ["a.js", "src/a/b.js"], ["a.jsx", "a.js.map"]),
        ("**/logs", ["logs/a", "x/logs", "x/y/logs/z"], ["blogs/a"]),
        ("docs/**", ["docs/a", "docs/a/b/c"], ["docs", "x/docs/a"]),
        ("a/**/b", ["a/b", "a/x/b", "a/x/y/b/c"], ["x/a/b"]),
        ("/README.md", ["README.md"], ["docs/README.md"]),
        ("README.md", ["README.md", "docs/README.md"], ["README.mdx"]),
        ("deploy/k8s", ["deploy/k8s/app.yaml", "deploy/k8s"], ["x/deploy/k8s/app.yaml"]),
        ("file?.txt", ["file1.txt", "a/fileA.txt"], ["file10.txt", "file/.txt"]),
        ("*", ["a", "a/b/c"], []),
    ],
)
def test_pattern_semantics(pattern: str, matches: list[str], misses: list[str]) -> None:
    regex = compile_pattern(pattern)
    for path in matches:
        assert regex.match(path), f"{pattern} should match {path}"
    for path in misses:
        assert not regex.match(path), f"{pattern} should not match {path}"


def test_last_matching_rule_wins() -> None:
    co = parse_codeowners("*.yaml @ops\ndeploy/ @platform\n*.yaml @yaml-people\n")
    assert co.owners_of("deploy/app.yaml") == ("@yaml-people",)
    assert co.owners_of("deploy/app.json") == ("@platform",)
    assert co.rule_for("deploy/app.json").line == 2  # type: ignore[union-attr]


def test_owners_are_lower_cased_and_unmatched_paths_have_none() -> None:
    co = parse_codeowners("/services/checkout/ @Acme/Checkout-Team @Alice\n")
    assert co.owners_of("services/checkout/main.go") == ("@acme/checkout-team", "@alice")
    assert co.owners_of("services/cart/main.go") == ()
    assert co.rule_for("services/cart/main.go") is None


def test_unsupported_lines_are_skipped_with_positions() -> None:
    co = parse_codeowners(
        "* @all\n!vendor/ @nobody\n[Dd]ocs/ @docs\nsrc/ @ok @@bad\n\\#notes @x\n",
        filename=".github/CODEOWNERS",
    )
    assert [(p.line, p.col) for p in co.problems] == [(2, 1), (3, 1), (4, 10)]
    assert all(p.file == ".github/CODEOWNERS" for p in co.problems)
    assert co.owners_of("vendor/x") == ("@all",)
    assert co.owners_of("src/x") == ("@all",)


def test_comments_blank_lines_and_crlf() -> None:
    co = parse_codeowners("# owners\r\n\r\n   \r\n*.py   @py  # trailing\r\n")
    assert co.owners_of("a/b.py") == ("@py",)
    assert len(co.rules) == 1 and not co.problems
