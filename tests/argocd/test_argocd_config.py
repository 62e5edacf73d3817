"""`stages[].argocd` in the configuration: schema, positions, the outbound policy, the model."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.config import model
from bot.config.durations import parse_duration
from bot.config.load import load_config_text, validate_text
from bot.config.outbound import Endpoint, Mode, OutboundPolicy
from bot.config.schemas import load_schema

FILE = ".github/release-train.yml"
BASE = """version: 1
trains:
  - name: daily
stages:
  - name: staging
    manifests: ["deploy/staging/**"]
    argocd:
      {body}
"""


def problems(body: str, policy: OutboundPolicy | None = None) -> list[str]:
    from bot.config.load import analyse

    text = BASE.format(body=body.replace("\n", "\n      "))
    if policy is None:
        return [p.render() for p in validate_text(text, FILE)]
    return [p.render() for p in analyse(text, FILE, outbound=policy).problems]


def test_a_full_section_builds_the_model() -> None:
    text = BASE.format(body="source: prod\n      selector: env=staging\n      project: shop\n"
                       "      refresh: true\n      health_timeout: 15m")  # fmt: skip
    stage = load_config_text(text, FILE).stages[0]
    assert stage.argocd == model.ArgoCD(
        source="prod",
        selector="env=staging",
        project="shop",
        refresh=True,
        health_timeout=timedelta(minutes=15),
    )
    plain = load_config_text(text.split("    argocd:")[0], FILE)
    assert plain.stages[0].argocd is None


@pytest.mark.parametrize(("body", "expected"), [
    ("applications: [web]",
     f"{FILE}:7:5: stages[0].argocd: set `source` (an Argo CD the operator defined) or `server`"),
    ("source: prod",
     f"{FILE}:7:5: stages[0].argocd: name the Applications (`applications`) or a `selector`"),
    ("source: prod\napplications: [web]\nselector: env=x",
     f"{FILE}:10:7: stages[0].argocd: set `applications` or `selector`, not both"),
    ("source: prod\nserver: https://argocd.example.com\napplications: [web]",
     f"{FILE}:9:7: stages[0].argocd: set `source` or `server`, not both"),
    ("source: prod\nselector: 'env in prod'",
     f"{FILE}:9:17: stages[0].argocd.selector: label selector term 'env in prod' is not valid"),
    ("source: prod\napplications: [web]\nhealth_timeout: 0s",
     f"{FILE}:10:23: stages[0].argocd.health_timeout: must be above 0s"),
])  # fmt: skip
def test_bad_sections_are_named_with_file_line_col(body: str, expected: str) -> None:
    assert expected in problems(body)


def test_a_repository_config_cannot_name_an_environment_variable_or_a_token() -> None:
    for key in ("token_env: ARGOCD_TOKEN", "token: abc", "headers: {Authorization: x}"):
        found = problems(f"source: prod\napplications: [web]\n{key}")
        assert any("unknown key" in p and "stages[0].argocd" in p for p in found), found


def test_the_operator_policy_checks_source_and_server() -> None:
    policy = OutboundPolicy(Mode.APP, sources=(Endpoint("https://argocd.internal", "source prod",
                                                        trusted=True, token="t"),))  # fmt: skip
    assert problems("source: prod\napplications: [web]", policy) == []
    assert problems("source: staging\napplications: [web]", policy) == [
        f"{FILE}:8:15: stages[0].argocd.source: 'staging' is not one of the operator's "
        "sources: prod"
    ]
    [refused] = problems("server: http://127.0.0.1:8080\napplications: [web]", policy)
    assert refused.startswith(f"{FILE}:8:15: stages[0].argocd.server: refused: this server ")
    allowed = OutboundPolicy(Mode.APP, allow_urls=("*",))
    [internal] = problems("server: http://10.0.0.8\napplications: [web]", allowed)
    assert "10.0.0.8 is a private or reserved address" in internal


def test_schema_defaults_are_the_model_defaults() -> None:
    props = load_schema("config.schema.json")["$defs"]["argocd"]["properties"]
    fields = {f.name: f.default for f in dataclasses.fields(model.ArgoCD)}
    assert set(props) == set(fields)
    for key, sub in props.items():
        if "default" in sub:
            value = sub["default"]
            value = parse_duration(value) if key == "health_timeout" else value
            assert value == fields[key], key


class _Files:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read_file(self, path: str) -> str | None:
        return self.files.get(path)


def test_the_app_refuses_a_repository_config_pointing_argo_cd_inside() -> None:
    from bot.config.repo import ConfigCache, load_repo_config
    from bot.errors import ConfigError

    text = BASE.format(body="server: http://127.0.0.1:8080\n      applications: [web]")
    files = _Files({FILE: text})
    policy = OutboundPolicy(Mode.APP)
    assert load_repo_config(files, FILE, cache=ConfigCache()) is not None  # no policy: loads
    with pytest.raises(ConfigError) as caught:
        load_repo_config(files, FILE, cache=ConfigCache(), outbound=policy)
    [problem] = caught.value.problems
    assert problem.render().startswith(f"{FILE}:8:15: stages[0].argocd.server: refused: ")
