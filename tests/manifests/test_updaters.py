"""Behaviour of each updater on small, plain-value inputs."""

from __future__ import annotations

import pytest
from corpus import CORPUS, needs_corpus

from bot.core.manifests import Bump, bump_text, find_images, plan_many, plan_text
from bot.errors import ConfigError

from .support import (
    TRICKY,
    assert_only_edited_lines_changed,
    assert_reads_back,
    read,
)

DIGEST = "sha256:" + "ab" * 32
OLD_DIGEST = "sha256:" + "01" * 32


def bump(text: str, b: Bump, **kwargs: object) -> str:
    new, edits = bump_text(text, b, **kwargs)  # type: ignore[arg-type]
    assert_only_edited_lines_changed(text, new, edits)
    assert_reads_back(new, edits)
    return new


def test_workload_keeps_registry_and_name() -> None:
    text = "spec:\n  containers:\n  - name: a\n    image: registry:5000/team/app:1.0 # pinned\n"
    new = bump(text, Bump("registry:5000/team/app", tag="1.1"))
    assert new == text.replace("app:1.0", "app:1.1")


def test_workload_digest_only_keeps_the_tag() -> None:
    text = f"spec:\n  containers:\n  - name: a\n    image: ghcr.io/a/b:1.0@{OLD_DIGEST}\n"
    new = bump(text, Bump("ghcr.io/a/b", digest=DIGEST))
    assert new == text.replace(OLD_DIGEST, DIGEST)


def test_tag_and_digest_together() -> None:
    text = "spec:\n  containers:\n  - name: a\n    image: ghcr.io/a/b:1.0\n"
    new = bump(text, Bump("ghcr.io/a/b", tag="2.0", digest=DIGEST))
    assert f"image: ghcr.io/a/b:2.0@{DIGEST}\n" in new


def test_tag_only_bump_of_a_digest_pinned_image_is_refused() -> None:
    text = f"spec:\n  containers:\n  - name: a\n    image: ghcr.io/a/b:1.0@{OLD_DIGEST}\n"
    with pytest.raises(ConfigError) as exc:
        bump_text(text, Bump("ghcr.io/a/b", tag="2.0"), filename="d.yaml")
    problem = exc.value.problems[0]
    assert (problem.file, problem.line, problem.col) == ("d.yaml", 4, 12)
    assert "pinned by digest" in problem.message


def test_docker_hub_spellings_match() -> None:
    text = (
        "spec:\n  containers:\n  - name: a\n    image: nginx:1.25\n"
        "  - name: b\n    image: docker.io/library/nginx:1.25\n"
    )
    new = bump(text, Bump("docker.io/library/nginx", tag="1.27"))
    assert new.count("nginx:1.27") == 2 and "docker.io/library/nginx:1.27" in new


def test_other_images_and_prefixes_are_left_alone() -> None:
    text = (
        "spec:\n  containers:\n  - name: a\n    image: ghcr.io/a/app-worker:1\n"
        "  - name: b\n    image: ghcr.io/a/app:1\n"
    )
    new, edits = bump_text(text, Bump("ghcr.io/a/app", tag="2"))
    assert [e.line for e in edits] == [6]
    assert "app-worker:1\n" in new


def test_cronjob_and_init_and_ephemeral_containers() -> None:
    sites = find_images(read(TRICKY / "multi-doc.yaml"))
    paths = {s.path for s in sites if s.kind == "workload"}
    assert "spec.jobTemplate.spec.template.spec.containers[name=report].image" in paths
    assert "spec.template.spec.initContainers[name=migrate].image" in paths
    assert "spec.ephemeralContainers[name=shell].image" in paths


def test_type_changing_tags_get_quoted_and_quotes_are_kept() -> None:
    text = "image:\n  repository: a/b\n  tag: 1.0\nother:\n  repository: a/c\n  tag: 'x'\n"
    new = bump(text, Bump("a/b", tag="1.10"))
    assert 'tag: "1.10"\n' in new
    new = bump(text, Bump("a/c", tag="no"))
    assert "tag: 'no'\n" in new
    new = bump(text, Bump("a/b", tag="v1"))
    assert "  tag: v1\n" in new


def test_kustomize_fields_and_insertions() -> None:
    text = (
        "images:\n- name: app  # the app\n  newName: ghcr.io/acme/app\n- name: web\n  newTag: 1.0\n"
    )
    new = bump(text, Bump("ghcr.io/acme/app", tag="2.0"))
    assert new == text.replace("ghcr.io/acme/app\n", 'ghcr.io/acme/app\n  newTag: "2.0"\n')
    new = bump(text, Bump("web", digest=DIGEST))
    assert new == text + f"  digest: {DIGEST}\n"
    new = bump(text, Bump("web", tag="1.1", new_name="ghcr.io/acme/web"))
    assert '- name: web\n  newTag: "1.1"\n  newName: ghcr.io/acme/web\n' in new


def test_insertion_at_end_of_file_without_newline_and_with_crlf() -> None:
    text = "images:\r\n- name: web\r\n  newName: x/web"
    new, edits = bump_text(text, Bump("web", tag="3"))
    assert new == text + '\r\n  newTag: "3"'
    assert edits[0].inserted and edits[0].line == 4


def test_kustomize_flow_entry_grows_in_place() -> None:
    text = "images:\n- {name: web}  # flow\n"
    assert bump(text, Bump("web", tag="3")) == 'images:\n- {name: web, newTag: "3"}  # flow\n'


def test_helm_nested_blocks_registry_and_strings() -> None:
    text = read(TRICKY / "values-comments.yaml")
    new = bump(text, Bump("ghcr.io/acme/checkout", tag="1.1"))
    assert '    tag: "1.1"          # a float if you are not careful\n' in new
    new = bump(text, Bump("docker.io/bitnami/redis", tag="7.4.0"))
    assert "    tag: 7.4.0\n" in new
    new = bump(text, Bump("ghcr.io/acme/worker", tag="1.0.0"))
    assert 'image: "ghcr.io/acme/worker:1.0.0"\n' in new
    new = bump(text, Bump("ghcr.io/acme/cart", tag="v8"))
    assert "{repository: ghcr.io/acme/cart, tag: 'v8'}" in new


def test_helm_digest_field_is_set_and_missing_tag_is_added() -> None:
    text = 'checkout:\n  image:\n    repository: a/b\n    digest: ""\n    pullPolicy: Always\n'
    new = bump(text, Bump("a/b", tag="1.2.3", digest=DIGEST))
    # the digest decides what runs; no tag field is invented next to it
    assert new == text.replace('digest: ""', f'digest: "{DIGEST}"')
    text = "image:\n  repository: a/b\n  pullPolicy: Always\n"
    assert bump(text, Bump("a/b", tag="1.2.3")) == text + "  tag: 1.2.3\n"


def test_comments_and_block_scalars_are_not_images() -> None:
    sites = find_images(read(TRICKY / "values-comments.yaml"))
    assert not any(
        "commented-out" in s.repository or "inside-a-block" in s.repository for s in sites
    )


def test_argocd_parameters_and_kustomize_images() -> None:
    text = read(TRICKY / "argocd-app.yaml")
    new = bump(text, Bump("ghcr.io/acme/checkout", tag="1.1"))
    assert 'value: "1.1"\n          forceString: true' in new
    new = bump(text, Bump("ghcr.io/acme/web", tag="9.0.0"))
    assert '"web=ghcr.io/acme/web:9.0.0"' in new
    new = bump(text, Bump("web", tag="9.0.0"))
    assert '"web=ghcr.io/acme/web:9.0.0"' in new
    kinds = {s.kind for s in find_images(text)}
    assert kinds == {"argocd", "helm"}


def test_yaml_paths_for_whole_references_and_bare_tags() -> None:
    text = "spec:\n  app:\n    ref: ghcr.io/a/app:1.0\n  custom:\n    version: '1.0'\n"
    new = bump(text, Bump("ghcr.io/a/app", tag="1.1"), yaml_paths=["spec.app.ref"])
    assert "ref: ghcr.io/a/app:1.1\n" in new
    new = bump(text, Bump("ghcr.io/a/app", tag="1.1"), yaml_paths=["spec.custom.version"])
    assert "version: '1.1'\n" in new
    # without the path the custom field is not an image site
    assert bump_text(text, Bump("ghcr.io/a/app", tag="1.1")) == (text, [])


def test_yaml_path_selectors() -> None:
    text = (
        "spec:\n  containers:\n  - name: app\n    env: [{name: TAG, value: v1}]\n"
        "  - name: side\n    env: [{name: TAG, value: v1}]\n"
    )
    path = "spec.containers[name=side].env[name=TAG].value"
    new, edits = bump_text(text, Bump("x", tag="v2"), yaml_paths=[path])
    assert [e.line for e in edits] == [6]
    assert new.endswith("env: [{name: TAG, value: v2}]\n")
    _, edits = bump_text(text, Bump("x", tag="v2"), yaml_paths=["spec.containers[*].env[0].value"])
    assert [e.line for e in edits] == [4, 6]


def test_not_parsing_is_a_positioned_error() -> None:
    with pytest.raises(ConfigError) as exc:
        bump_text("a: 1\nb: [x\n", Bump("x", tag="1"), filename="bad.yaml")
    problem = exc.value.problems[0]
    assert problem.file == "bad.yaml" and problem.line == 3 and "does not parse" in problem.message


def test_alias_and_block_values_are_refused_with_position() -> None:
    with pytest.raises(ConfigError) as exc:
        bump_text(read(TRICKY / "refused-alias.yaml"), Bump("ghcr.io/acme/pinned", tag="2"))
    assert (exc.value.problems[0].line, exc.value.problems[0].col) == (10, 14)
    assert "alias" in exc.value.problems[0].message
    with pytest.raises(ConfigError) as exc:
        bump_text(read(TRICKY / "refused-block.yaml"), Bump("ghcr.io/acme/folded", tag="2"))
    assert exc.value.problems[0].line == 9 and "block scalar" in exc.value.problems[0].message


def test_an_anchored_image_is_edited_once_for_all_its_aliases() -> None:
    text = read(TRICKY / "flow-and-anchors.yaml")
    new, edits = bump_text(text, Bump("ghcr.io/acme/setup", tag="4.1.0"))
    assert len(edits) == 1 and "image: &setupimage ghcr.io/acme/setup:4.1.0\n" in new
    assert "image: *setupimage\n" in new


def test_invalid_bumps_are_refused() -> None:
    for wrong in (
        Bump("a/b", tag="-x"),
        Bump("a/b:1", tag="2"),
        Bump("a/b"),
        Bump("a/b", digest="md5:zz"),
        Bump("a/b", tag="1", new_name="Bad Name"),
    ):
        with pytest.raises(ConfigError):
            bump_text("image: a/b:1\n", wrong)


def test_plan_text_reports_sites_even_when_nothing_changes() -> None:
    result = plan_text("image: a/b:1\n", Bump("a/b", tag="1"))
    assert result.edits == () and [s.tag for s in result.matched] == ["1"]


def test_edits_describe_from_and_to() -> None:
    _, edits = bump_text("image: a/b:1\n", Bump("a/b", tag="2"), filename="v.yaml")
    assert edits[0].describe() == "v.yaml:1:8 image: a/b:1 -> a/b:2"
    assert edits[0].to_json()["kind"] == "helm"


def test_chunks_cut_at_document_markers_only() -> None:
    from bot.core.manifests.locate import chunks

    text = "a: 1\n---\nb: '---'\n--- # c\nc: 2\n...\n---\nd: 3\n"
    found = [(c.start, c.line, c.single) for c in chunks(text)]
    second, third, fourth = text.index("---"), text.index("--- #"), text.rindex("---")
    assert found == [(0, 0, False), (second, 1, True), (third, 3, False), (fourth, 6, True)]
    assert [c.start for c in chunks("%YAML 1.2\n---\na: 1\n---\nb: 2\n")] == [0]


def test_skim_skips_documents_that_cannot_name_the_image() -> None:
    text = "---\nimage: a/app:1\n---\nbroken: [\n---\nimage: a/other:1\n"
    with pytest.raises(ConfigError):
        bump_text(text, Bump("a/app", tag="2"))
    new, edits = bump_text(text, Bump("a/other", tag="2"), skim=True)
    assert new == text.replace("other:1", "other:2") and edits[0].document == 2
    assert edits[0].line == 6


@needs_corpus
def test_skim_gives_the_same_result_on_the_corpus() -> None:
    path = CORPUS / "GoogleCloudPlatform+microservices-demo/release/kubernetes-manifests.yaml"
    text = read(path)
    for image in (
        "redis",
        "us-central1-docker.pkg.dev/online-boutique-ci/microservices-demo/adservice",
    ):
        b = Bump(image, tag="9.9.9")
        assert bump_text(text, b, skim=True) == bump_text(text, b)


def test_flow_style_is_kept() -> None:
    text = (
        "spec:\n  containers: [{name: main, image: ghcr.io/a/b:1.0.0}, {name: side, image: a/c}]\n"
    )
    new = bump(text, Bump("ghcr.io/a/b", tag="1.1.0"))
    assert new == text.replace("b:1.0.0", "b:1.1.0")
    new = bump(text, Bump("a/c", tag="2"))
    assert new == text.replace("image: a/c}", 'image: "a/c:2"}')


def test_plan_many_bumps_several_images_in_one_pass() -> None:
    text = read(TRICKY / "multi-doc.yaml")
    bumps = [Bump("ghcr.io/acme/api", tag="1.3.0"), Bump("ghcr.io/acme/report", tag="2024.06.01")]
    result = plan_many(text, bumps, filename="m.yaml")
    one = bump_text(text, bumps[0])[0]
    assert result.text == bump_text(one, bumps[1])[0]
    assert [e.line for e in result.edits] == [12, 16, 36]
    assert_only_edited_lines_changed(text, result.text, list(result.edits))
    skimmed = plan_many(text, bumps, filename="m.yaml", skim=True)
    assert skimmed.text == result.text


def test_plan_many_yaml_paths_belong_to_their_image() -> None:
    text = "a:\n  version: 1.0.0\nb:\n  version: 1.0.0\n"
    result = plan_many(
        text,
        [Bump("x/a", tag="2.0.0"), Bump("x/b", tag="3.0.0")],
        yaml_paths={"x/a": ["a.version"], "x/b": ["b.version"]},
    )
    assert result.text == "a:\n  version: 2.0.0\nb:\n  version: 3.0.0\n"


def test_plan_many_refuses_two_values_for_one_place() -> None:
    text = "image: nginx:1.0\n"
    with pytest.raises(ConfigError, match="disagree"):
        plan_many(text, [Bump("nginx", tag="1.1"), Bump("docker.io/library/nginx", tag="1.2")])


def test_new_name_for_strings_and_helm_blocks() -> None:
    text = "spec:\n  containers:\n  - name: a\n    image: ghcr.io/a/app:1.0\n"
    new = bump(text, Bump("ghcr.io/a/app", tag="1.1", new_name="registry.example/b/app"))
    assert "image: registry.example/b/app:1.1\n" in new
    values = read(TRICKY / "values-comments.yaml")
    new = bump(
        values, Bump("docker.io/bitnami/redis", tag="7.4.0", new_name="docker.io/acme/redis")
    )
    assert "    repository: acme/redis\n" in new
    with pytest.raises(ConfigError, match="not under registry"):
        bump_text(values, Bump("docker.io/bitnami/redis", tag="1", new_name="quay.io/acme/redis"))


def test_yaml_path_quoted_keys_with_dots() -> None:
    text = "metadata:\n  annotations:\n    app.kubernetes.io/version: 1.0.0  # v\n"
    path = 'metadata.annotations["app.kubernetes.io/version"]'
    new = bump(text, Bump("x/app", tag="1.1.0"), yaml_paths=[path])
    assert new == text.replace("1.0.0", "1.1.0")
    with pytest.raises(ConfigError, match="malformed"):
        bump_text(text, Bump("x/app", tag="1"), yaml_paths=["metadata..x"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("image:\n  repository: a/b\n  tag:\n  x: 1\n", '  tag: "2.0"\n  x: 1\n'),
        ("image:\n  repository: a/b\n  tag: # c\n", '  tag: "2.0" # c\n'),
        ("image:\n  repository: a/b\n  tag:", '  tag: "2.0"'),
        ("image:\n  repository: a/b\n  tag: &t\nb: 1\n", '  tag: &t "2.0"\nb: 1\n'),
        ("image: {repository: a/b, tag: , b: 1}\n", '{repository: a/b, tag: "2.0", b: 1}\n'),
        ("image:\r\n  repository: a/b\r\n  tag:\r\n", '  tag: "2.0"\r\n'),
    ],
)
def test_empty_values_are_filled_in_place(text: str, expected: str) -> None:
    new = bump(text, Bump("a/b", tag="2.0"))
    assert new.endswith(expected)
    _, edits = bump_text(text, Bump("a/b", tag="2.0"))
    assert edits[0].line == text.count("\n", 0, text.index("tag:")) + 1
