"""Only deployable YAML is edited by default (issue #18 item 2): build, CI, Kargo and Argo
Workflows configuration is reported, and edited only through a YAML path or `any_kind`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.core.manifests import Bump, find_images, plan_text

SKAFFOLD = """\
apiVersion: skaffold/v4beta6
kind: Config
build:
  artifacts:
    - image: ghcr.io/acme/checkout
      context: src/checkout
deploy:
  kubectl: {}
profiles:
  - name: ci
    build:
      artifacts:
        - image: ghcr.io/acme/checkout:dev
"""
GITHUB_WORKFLOW = """\
name: test
on: [push]
jobs:
  test:
    runs-on: ubuntu-latest
    container:
      image: ghcr.io/acme/checkout:1.0.0
    services:
      db:
        image: postgres:16
"""
GITLAB_CI = """\
stages: [build, test]
test:
  stage: test
  image: ghcr.io/acme/checkout:1.0.0
  script: [make test]
"""
KARGO = """\
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: checkout
spec:
  subscriptions:
    - image:
        repoURL: ghcr.io/acme/checkout
        semverConstraint: ^1.0.0
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: prod
spec:
  promotionTemplate:
    spec:
      steps:
        - uses: kustomize-set-image
          config:
            images:
              - image: ghcr.io/acme/checkout:1.0.0
"""
ARGO_WORKFLOW = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: smoke
spec:
  templates:
    - name: smoke
      container:
        image: ghcr.io/acme/checkout:1.0.0
        command: [/smoke]
"""
ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: checkout
spec:
  template:
    spec:
      containers:
        - name: app
          image: ghcr.io/acme/checkout:1.0.0
"""
KNATIVE = """\
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: checkout
spec:
  template:
    spec:
      containers:
        - image: ghcr.io/acme/checkout:1.0.0
"""
HELM_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: checkout
spec:
  values:
    image:
      repository: ghcr.io/acme/checkout
      tag: 1.0.0
"""
VALUES_WITH_JOBS = """\
jobs:
  migrate:
    image: ghcr.io/acme/checkout:1.0.0
stages: []
"""
CHECKOUT = Bump("ghcr.io/acme/checkout", tag="1.1.0")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("skaffold.yaml", SKAFFOLD),
        (".github/workflows/test.yaml", GITHUB_WORKFLOW),
        ("ci.yaml", GITHUB_WORKFLOW),  # recognised by its keys, whatever the file is called
        (".gitlab-ci.yml", GITLAB_CI),
        ("pipeline.yml", GITLAB_CI),
        ("kargo.yaml", KARGO),
        ("workflow.yaml", ARGO_WORKFLOW),
    ],
)
def test_configuration_is_reported_not_edited(name: str, text: str) -> None:
    result = plan_text(text, CHECKOUT, filename=name)
    assert result.text == text and result.edits == () and result.matched == ()
    assert result.unedited and all("not a deployable manifest" in u.why for u in result.unedited)
    assert find_images(text, name) == []
    forced = plan_text(text, CHECKOUT, filename=name, any_kind=True)
    assert forced.edits and forced.text != text


@pytest.mark.parametrize(
    "text",
    [ROLLOUT, KNATIVE, HELM_RELEASE, VALUES_WITH_JOBS],
    ids=["rollout", "knative", "flux", "values"],
)
def test_deployable_kinds_are_edited(text: str) -> None:
    result = plan_text(text, CHECKOUT, filename="deploy.yaml")
    assert len(result.edits) == 1 and result.unedited == ()
    assert result.text.replace("1.1.0", "1.0.0") == text


def test_a_configured_yaml_path_reaches_into_configuration() -> None:
    path = "build.artifacts[0].image"
    result = plan_text(
        SKAFFOLD,
        Bump("ghcr.io/acme/checkout", tag="2.0.0"),
        filename="skaffold.yaml",
        yaml_paths=[path],
    )
    assert result.text == SKAFFOLD.replace(
        "    - image: ghcr.io/acme/checkout\n", "    - image: ghcr.io/acme/checkout:2.0.0\n"
    )
    assert [e.path for e in result.edits] == [path]


def test_cli_reports_configuration_and_any_kind_edits_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skaffold = tmp_path / "skaffold.yaml"
    skaffold.write_text(SKAFFOLD)
    argv = ["bump", "--image", "ghcr.io/acme/checkout", "--tag", "1.1.0", str(skaffold)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"{skaffold}:5:14: warning: build.artifacts[0].image:" in err
    assert "Config is not a deployable manifest" in err and skaffold.read_text() == SKAFFOLD
    assert main([*argv, "--any-kind"]) == 0
    assert skaffold.read_text() == SKAFFOLD.replace("checkout:dev", "checkout:1.1.0").replace(
        "    - image: ghcr.io/acme/checkout\n", "    - image: ghcr.io/acme/checkout:1.1.0\n"
    )
