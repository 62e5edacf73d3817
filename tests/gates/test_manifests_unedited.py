"""The manifests gate lists the places that name an image but that it did not edit, each with
FILE:LINE and why, as `release-train bump` does (issue 18)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.gates.base import GateResult
from bot.core.gates.manifests import GATE, ManifestFacts, ManifestFile, ManifestSettings
from bot.core.manifests import Bump

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
CHECKOUT = Bump("ghcr.io/acme/checkout", tag="1.5.0")
SECTION = "**Found but not edited** (left as they are):\n\n"

# A Deployment whose KRM function annotation names the image inside a block scalar, and a
# skaffold build configuration in the same file (not a deployable manifest).
MIXED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  annotations:
    config.kubernetes.io/function: |
      container:
        image: ghcr.io/acme/checkout:1.4.2
spec:
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/checkout:1.4.2
---
apiVersion: skaffold/v4beta6
kind: Config
build:
  artifacts:
    - image: ghcr.io/acme/checkout
"""


def run(*files: ManifestFile) -> GateResult:
    return GATE.evaluate(ManifestFacts(files=files), ManifestSettings(), NOW)


def test_block_scalar_and_non_deployable_places_are_listed_with_file_line_and_why() -> None:
    result = run(ManifestFile("deploy/checkout.yaml", MIXED, (CHECKOUT,)))
    assert result.conclusion == "success", result.summary
    assert "| deploy/checkout.yaml | yes | 1 edit(s) |" in result.summary
    section = result.summary.split(SECTION, 1)[1]
    block = (
        '- `deploy/checkout.yaml:8` metadata.annotations["config.kubernetes.io/function"]: '
        "ghcr.io/acme/checkout:1.4.2 not edited: inside a block scalar"
    )
    skaffold = (
        "- `deploy/checkout.yaml:24` build.artifacts[0].image: ghcr.io/acme/checkout not "
        "edited: Config is not a deployable manifest; name a YAML path to edit it"
    )
    assert block in section and skaffold in section
    warnings = {(a.path, a.start_line, a.annotation_level) for a in result.annotations}
    assert warnings == {
        ("deploy/checkout.yaml", 8, "warning"),
        ("deploy/checkout.yaml", 24, "warning"),
    }
    assert result.details["unedited"] == [
        'deploy/checkout.yaml:8:16: warning: metadata.annotations["config.kubernetes.io/'
        'function"]: ghcr.io/acme/checkout:1.4.2 not edited: inside a block scalar (| or >), '
        "which holds text, not YAML the updater edits",
        "deploy/checkout.yaml:24:14: warning: build.artifacts[0].image: ghcr.io/acme/checkout "
        "not edited: Config is not a deployable manifest; name a YAML path to edit it",
    ]


def test_a_file_that_does_not_parse_is_listed_as_not_edited_and_fails_once() -> None:
    broken = (
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - image: [ghcr.io/acme/checkout\n"
    )
    good = ManifestFile("deploy/checkout.yaml", MIXED, (CHECKOUT,))
    result = run(ManifestFile("deploy/pod.yaml", broken, (CHECKOUT,)), good)
    assert result.conclusion == "failure"
    failures = [a for a in result.annotations if a.annotation_level == "failure"]
    assert [(a.path, "does not parse" in a.message) for a in failures] == [
        ("deploy/pod.yaml", True)
    ]
    line = failures[0].start_line
    assert line > 1
    # Listed among the places not edited, at the parse error's line; annotated only once.
    section = result.summary.split(SECTION, 1)[1].split("\n\n", 1)[0]
    assert f"- `deploy/pod.yaml:{line}` not edited: YAML does not parse" in section
    assert sum(a.path == "deploy/pod.yaml" for a in result.annotations) == 1
    # The other file's places are still listed and annotated.
    assert sum(a.path == "deploy/checkout.yaml" for a in result.annotations) == 2


def test_nothing_left_alone_means_no_section_and_no_annotations() -> None:
    plain = MIXED.split("---\n", 1)[0].replace(
        "    config.kubernetes.io/function: |\n      container:\n"
        "        image: ghcr.io/acme/checkout:1.4.2\n",
        "    team: payments\n",
    )
    result = run(ManifestFile("deploy/checkout.yaml", plain, (CHECKOUT,)))
    assert result.conclusion == "success", result.summary
    assert "Found but not edited" not in result.summary
    assert result.annotations == () and result.details["unedited"] == []
