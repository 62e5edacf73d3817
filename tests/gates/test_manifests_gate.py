from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from corpus import CORPUS, needs_corpus

from bot.core.gates.manifests import (
    GATE,
    ManifestFacts,
    ManifestFile,
    ManifestSettings,
    check_file,
    configured_schema_paths,
    settings_from_config,
)
from bot.core.manifests import Bump
from bot.errors import ConfigError

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data" / "manifests"
CHECKOUT = Bump("ghcr.io/acme/checkout", tag="1.5.0")


def mfile(name: str, *bumps: Bump, path: str = "", **kw: object) -> ManifestFile:
    return ManifestFile(
        path=path or f"deploy/{name}",
        text=(DATA / name).read_text(),
        bumps=bumps,
        **kw,  # type: ignore[arg-type]
    )


def run(*files: ManifestFile, settings: ManifestSettings | None = None, **facts: object):  # type: ignore[no-untyped-def]
    return GATE.evaluate(
        ManifestFacts(files=files, **facts),  # type: ignore[arg-type]
        settings or ManifestSettings(),
        NOW,
    )


def test_bump_applies_and_validates() -> None:
    result = run(mfile("deployment.yaml", CHECKOUT), mfile("kustomization.yaml", CHECKOUT))
    assert result.conclusion == "success", result.summary
    assert "deployment.json" in result.summary and "Service: no schema" in result.summary
    assert "kustomization.json" in result.summary
    assert "| deploy/deployment.yaml | yes | 1 edit(s) |" in result.summary


def test_schema_errors_are_annotated_at_their_lines() -> None:
    result = run(mfile("typo-deployment.yaml", Bump("ghcr.io/acme/cart", tag="2.1.0")))
    assert result.conclusion == "failure"
    where = {(a.path, a.start_line) for a in result.annotations}
    assert ("deploy/typo-deployment.yaml", 13) in where  # imagePullPolicey
    assert ("deploy/typo-deployment.yaml", 15) in where  # containerPort 70000
    messages = " ".join(a.message for a in result.annotations)
    assert "imagePullPolicey: unknown field" in messages and "70000" in messages
    assert len(result.annotations) == 2


def test_parse_error_is_positioned() -> None:
    broken = ManifestFile("deploy/bad.yaml", "a: [1, 2\nb: 3\n", (CHECKOUT,))
    result = run(broken)
    assert result.conclusion == "failure"
    (ann,) = result.annotations
    assert ann.path == "deploy/bad.yaml" and ann.start_line >= 1
    assert "does not parse" in ann.message
    assert "| deploy/bad.yaml | **no** |" in result.summary


def test_image_absent_fails_and_already_at_target_passes() -> None:
    absent = run(mfile("deployment.yaml", Bump("ghcr.io/acme/payments", tag="9.9.9")))
    assert absent.conclusion == "failure"
    assert "does not occur" in absent.annotations[0].message
    same = run(mfile("deployment.yaml", Bump("ghcr.io/acme/checkout", tag="1.4.2")))
    assert same.conclusion == "success" and "already at target" in same.summary


def test_missing_manifest_fails_plainly() -> None:
    result = run(ManifestFile("deploy/gone.yaml", None, (CHECKOUT,)))
    assert result.conclusion == "failure"
    assert "does not exist" in result.summary


def test_helm_values_validate_against_the_chart_schema() -> None:
    schema = (DATA / "values.schema.json").read_text()
    web = Bump("ghcr.io/acme/web", tag="v1.3.0")
    ok = run(
        mfile(
            "values.yaml",
            web,
            values_schema=schema,
            values_schema_path="charts/web/values.schema.json",
        )
    )
    assert ok.conclusion == "success", ok.summary
    assert "charts/web/values.schema.json" in ok.summary
    bad = run(mfile("values.yaml", Bump("ghcr.io/acme/web", tag="latest"), values_schema=schema))
    assert bad.conclusion == "failure"
    (ann,) = bad.annotations
    assert ann.start_line == 4 and "image.tag" in ann.message


def test_configured_schema_by_glob_and_missing_schema_file() -> None:
    settings = ManifestSettings(schemas=(("deploy/values*.yaml", "schemas/web.json"),))
    assert configured_schema_paths(settings) == ("schemas/web.json",)
    text = (DATA / "values.schema.json").read_text()
    web = Bump("ghcr.io/acme/web", tag="latest")
    failing = run(mfile("values.yaml", web), settings=settings, schemas={"schemas/web.json": text})
    assert failing.conclusion == "failure"
    missing = run(mfile("values.yaml", web), settings=settings, schemas={})
    assert missing.conclusion == "failure"
    assert "schema file `schemas/web.json` does not exist" in missing.annotations[0].message


def test_helm_values_schema_setting_applies_to_values_files() -> None:
    settings = ManifestSettings(helm_values_schema="schemas/values.json")
    text = (DATA / "values.schema.json").read_text()
    result = run(
        mfile("values.yaml", Bump("ghcr.io/acme/web", tag="latest")),
        settings=settings,
        schemas={"schemas/values.json": text},
    )
    assert result.conclusion == "failure" and "image.tag" in result.annotations[0].message


def test_invalid_configured_schema_is_reported() -> None:
    settings = ManifestSettings(schema="schemas/odd.json")
    result = run(
        mfile("values.yaml", Bump("ghcr.io/acme/web", tag="v2.0.0")),
        settings=settings,
        schemas={"schemas/odd.json": '{"type": 12}'},
    )
    assert result.conclusion == "failure" and "is invalid" in result.annotations[0].message


def test_patch_files_are_validated_without_required_fields() -> None:
    result = run(mfile("patch.yaml", CHECKOUT, path="deploy/overlays/prod/patch.yaml"))
    assert result.conclusion == "success", result.summary
    assert "(patch)" in result.summary
    delete = ManifestFile(
        "deploy/delete.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n$patch: delete\n",
    )
    assert run(delete).conclusion == "success"


def test_no_manifests_is_success_saying_so() -> None:
    assert run().summary == "This train bumps no manifests."


def test_settings_from_config() -> None:
    settings = settings_from_config(
        {"schemas": {"deploy/**": "schemas/x.json"}, "builtin": False, "schema": "s.json"}
    )
    assert settings.schemas == (("deploy/**", "schemas/x.json"),) and not settings.builtin
    assert configured_schema_paths(settings) == ("schemas/x.json", "s.json")
    with pytest.raises(ConfigError, match="glob"):
        settings_from_config({"schemas": ["x"]})


def _corpus_files() -> list[Path]:
    return sorted(
        p for p in CORPUS.rglob("*.y*ml") if "templates" not in p.parts and ".github" not in p.parts
    )


@needs_corpus
def test_real_world_corpus_has_no_false_positives() -> None:
    files = _corpus_files()
    assert len(files) > 100
    validated = 0
    for path in files:
        rel = str(path.relative_to(CORPUS))
        report = check_file(
            ManifestFile(rel, path.read_text()), ManifestFacts(), ManifestSettings()
        )
        assert report.problems == (), (rel, [p.render() for p in report.problems])
        validated += sum(1 for s in report.schemas if s.endswith(".json"))
    assert validated >= 80


@needs_corpus
def test_bumping_corpus_workloads_still_validates() -> None:
    from bot.core.manifests import find_images

    bumped = 0
    for path in _corpus_files():
        if bumped == 15:  # enough kinds and layouts; keeps the test quick
            break
        text = path.read_text()
        sites = [s for s in find_images(text, path.name) if s.kind == "workload" and not s.digest]
        if not sites:
            continue
        bump = Bump(sites[0].repository, tag="9.9.9-rc.1")
        result = run(ManifestFile(str(path.relative_to(CORPUS)), text, (bump,)))
        assert result.conclusion == "success", result.summary
        bumped += 1
    assert bumped == 15


def test_remote_refs_are_never_fetched_and_say_so() -> None:
    remote = json.dumps(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {
                "resources": {
                    "$ref": "https://kubernetesjsonschema.dev/v1.18.1/"
                    "_definitions.json#/definitions/x"
                }
            },
        }
    )
    values = ManifestFile("charts/web/values.yaml", "resources: {}\n", values_schema=remote)
    result = run(values)
    assert result.conclusion == "failure"
    assert "never fetches schemas over the network" in result.annotations[0].message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = ManifestFile("values.yaml", "\n".join(lines) + "\n", values_schema='{"type": "object"}')
    result = run(bomb)
    assert result.conclusion == "failure"
    assert "too large" in result.annotations[0].message


@pytest.mark.parametrize("schema", ["[]", "12", '{"type": 12}', '{"pattern": "("}'])
def test_broken_configured_schemas_are_reported(schema: str) -> None:
    values = ManifestFile("values.yaml", "a: b\n", values_schema=schema)
    result = run(values)
    assert result.conclusion == "failure"
    assert result.annotations[0].path == "values.yaml"


def test_values_schema_candidates() -> None:
    from bot.core.gates.manifests import values_schema_candidates

    assert values_schema_candidates("deploy/frontend/values-staging.yaml") == (
        "deploy/frontend/values.schema.json",
        "deploy/frontend/chart/values.schema.json",
        "deploy/values.schema.json",
    )
    assert values_schema_candidates("values.yaml") == (
        "values.schema.json",
        "chart/values.schema.json",
    )
