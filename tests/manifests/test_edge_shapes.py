"""Image shapes at the edges (issue #18): sibling tag keys, `sha` pins, image-named keys,
Argo CD `kustomize.images` strings, and images inside block scalars. Every result is checked
byte for byte against the input with only the expected characters changed."""

from __future__ import annotations

import pytest

from bot.core.manifests import Bump, find_images, plan_text
from bot.errors import ConfigError

from .support import TRICKY, assert_only_edited_lines_changed, assert_reads_back, read

DIGEST = "sha256:" + "ab" * 32
HELM = TRICKY / "helm-image-keys.yaml"
SHA = TRICKY / "prometheus-sha-pins.yaml"
ARGO = TRICKY / "argocd-kustomize-images.yaml"
KRM = TRICKY / "krm-function-annotation.yaml"
OLD_SHA = "0c0d2b3f4a5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566"


def bumped(text: str, bump: Bump, old: str, new: str) -> list[str]:
    """Bump; the result must be `text` with exactly one `old` replaced by `new`."""
    result = plan_text(text, bump, filename="f.yaml")
    assert text.count(old) == 1, old
    assert result.text == text.replace(old, new)
    edits = list(result.edits)
    assert_only_edited_lines_changed(text, result.text, edits)
    assert_reads_back(result.text, edits)
    return [edit.path for edit in edits]


def test_sibling_tag_key_is_bumped_and_the_image_string_is_not() -> None:
    text = read(HELM)
    paths = bumped(
        text,
        Bump("ghcr.io/acme/exporter", tag="v1.87.0"),
        "  tag: v1.75.0   # keep",
        "  tag: v1.87.0   # keep",
    )
    assert paths == ["exporter.tag"]
    (site,) = [s for s in find_images(text) if s.repository == "ghcr.io/acme/exporter"]
    assert (site.tag, site.path, site.line) == ("v1.75.0", "exporter.tag", 6)


def test_sibling_registry_image_and_tag_join() -> None:
    text = read(HELM)
    bump = Bump("docker.io/envoyproxy/envoy", tag="v1.31.0")
    assert bumped(text, bump, 'tag: "v1.30.1"', 'tag: "v1.31.0"') == ["proxy.tag"]
    assert bumped(text, Bump("envoyproxy/envoy", tag="v1.31.0"), '"v1.30.1"', '"v1.31.0"')


def test_sibling_digest_is_written_next_to_the_tag() -> None:
    text = "svc:\n  image: ghcr.io/acme/svc\n  tag: 1.0\n  digest: ''\n"
    result = plan_text(text, Bump("ghcr.io/acme/svc", tag="1.1", digest=DIGEST))
    assert result.text == f"svc:\n  image: ghcr.io/acme/svc\n  tag: \"1.1\"\n  digest: '{DIGEST}'\n"


def test_keys_ending_in_image_hold_strings_or_maps() -> None:
    text = read(HELM)
    assert bumped(
        text, Bump("nats", tag="2.10.14-alpine"), "nats:2.10.7-alpine", "nats:2.10.14-alpine"
    )
    reloader = Bump("natsio/nats-server-config-reloader", tag="0.15.1")
    assert bumped(text, reloader, "tag: 0.14.0\n", "tag: 0.15.1\n") == [
        "nats.configReloaderImage.tag"
    ]
    exporter = Bump("natsio/prometheus-nats-exporter", tag="0.15.0")
    assert bumped(text, exporter, "tag: '0.14.0'}", "tag: '0.15.0'}") == [
        "nats.promExporterImage.tag"
    ]
    sidecar = Bump("ghcr.io/acme/sidecar", tag="3.2")
    assert bumped(text, sidecar, "sidecar:3.1", "sidecar:3.2") == ["migrations.sidecar_image"]


def test_image_name_and_tag_map() -> None:
    text = read(HELM)
    bump = Bump("ghcr.io/acme/migrate", tag="2024.06.0")
    assert bumped(text, bump, '"2024.05.1"', '"2024.06.0"') == ["migrations.image.tag"]
    renamed = plan_text(text, Bump("ghcr.io/acme/migrate", tag="1", new_name="ghcr.io/acme/mig"))
    assert "    name: ghcr.io/acme/mig\n" in renamed.text


def test_every_site_of_the_helm_file_is_found_once() -> None:
    repositories = sorted(s.repository for s in find_images(read(HELM)))
    assert repositories == [
        "docker.io/envoyproxy/envoy",
        "ghcr.io/acme/exporter",
        "ghcr.io/acme/migrate",
        "ghcr.io/acme/sidecar",
        "nats",
        "natsio/nats-server-config-reloader",
        "natsio/prometheus-nats-exporter",
    ]


def test_sha_pin_is_a_digest() -> None:
    text = read(SHA)
    reloader = "quay.io/prometheus-operator/prometheus-config-reloader"
    (site,) = [s for s in find_images(text) if s.repository == reloader]
    assert site.digest == "sha256:" + OLD_SHA
    with pytest.raises(ConfigError) as exc:
        plan_text(text, Bump(reloader, tag="v0.74.0"), filename="values.yaml")
    problem = exc.value.problems[0]
    assert (problem.file, problem.line, problem.col) == ("values.yaml", 16, 12)
    assert "pinned by digest" in problem.message
    paths = bumped(
        text,
        Bump(reloader, tag="v0.74.0", digest=DIGEST),
        "tag: v0.73.2\n      sha: " + OLD_SHA,
        "tag: v0.74.0\n      sha: " + "ab" * 32,
    )
    assert paths == [
        "prometheusOperator.prometheusConfigReloader.image.tag",
        "prometheusOperator.prometheusConfigReloader.image.sha",
    ]


def test_empty_sha_does_not_pin_and_digest_writes_the_hex() -> None:
    text = read(SHA)
    operator = "quay.io/prometheus-operator/prometheus-operator"
    assert bumped(text, Bump(operator, tag="v0.74.0"), '"v0.73.2"', '"v0.74.0"')
    assert bumped(text, Bump(operator, digest=DIGEST), 'sha: ""', f'sha: "{"ab" * 32}"')
    with pytest.raises(ConfigError, match="sha256 hex"):
        plan_text(text, Bump(operator, digest="sha512:" + "ab" * 64))


def test_argocd_kustomize_images_keep_their_quoting() -> None:
    text = read(ARGO)
    assert bumped(
        text,
        Bump("ghcr.io/acme/app", tag="v1.5.0"),
        "- app=ghcr.io/acme/app:v1.4.0",
        "- app=ghcr.io/acme/app:v1.5.0",
    ) == ["spec.source.kustomize.images[0]"]
    assert bumped(
        text,
        Bump("ghcr.io/acme/worker", tag="v1.5.0"),
        "worker:v1.4.0 #",
        "worker:v1.5.0 #",
    )
    assert bumped(text, Bump("ghcr.io/acme/cron", tag="v1.5.0"), "cron:v1.4.0'", "cron:v1.5.0'")


def test_images_in_block_scalars_are_reported_not_edited() -> None:
    text = read(KRM)
    result = plan_text(text, Bump("ghcr.io/acme/api", tag="1.3.0"), filename="api.yaml")
    assert [e.line for e in result.edits] == [14]
    assert result.text == text.replace(
        "          image: ghcr.io/acme/api:1.2.0", "          image: ghcr.io/acme/api:1.3.0"
    )
    notes = [(u.line, u.col, u.path) for u in result.unedited]
    assert notes == [
        (8, 16, 'metadata.annotations["config.kubernetes.io/function"]'),
        (27, 16, "patches[0].patch"),
    ]
    assert all("block scalar" in u.why for u in result.unedited)
    assert result.unedited[0].describe().startswith("api.yaml:8:16: metadata.annotations")


def test_only_a_block_scalar_mention_matches_nothing_but_is_reported() -> None:
    text = "kind: ConfigMap\napiVersion: v1\ndata:\n  values.yaml: |\n    image: a/b:1\n"
    result = plan_text(text, Bump("a/b", tag="2"))
    assert result.matched == () and result.text == text
    assert [(u.line, u.col, u.text) for u in result.unedited] == [(5, 12, "a/b:1")]


def test_strict_parses_every_text_and_lenient_skips_those_that_cannot_name_the_image() -> None:
    broken = "kind: Service\nspec:\n\tports: []\n"  # a tab indents: YAML allows none
    with pytest.raises(ConfigError) as exc:
        plan_text(broken, Bump("ghcr.io/acme/api", tag="2"), filename="svc.yaml")
    assert (exc.value.problems[0].file, exc.value.problems[0].line) == ("svc.yaml", 3)
    result = plan_text(broken, Bump("ghcr.io/acme/api", tag="2"), strict=False)
    assert result.text == broken and result.matched == () and result.unedited == ()
    named = broken + "# ghcr.io/acme/api\n"  # names it: parsed, so the error is reported
    with pytest.raises(ConfigError, match="does not parse"):
        plan_text(named, Bump("ghcr.io/acme/api", tag="2"), strict=False)


def test_trailing_tabs_are_separation_space_not_an_error() -> None:
    text = "kind: Pod\napiVersion: v1\nspec:\t\n  containers:\t\n  - image: a/b:1\t\n"
    result = plan_text(text, Bump("a/b", tag="2"))
    assert result.text == text.replace("a/b:1", "a/b:2")
