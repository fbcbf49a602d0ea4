"""Manifest rendering: deterministic, valid Kubernetes, safe templates, ownership recorded."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pytest
import yaml

from components.manifest import ManifestError, ManifestValues, manifest_path, owner_of, render_manifest
from components.mockrun import run_program
from components.render import RenderMocks
from tests.helpers import raw_config

VALUES = ManifestValues("ecr-prod", "arn:aws:iam::123456789012:role/r", "eu-west-1", "rt-a", "ecr-gitops", "prod")


def test_default_manifest_shape_and_ownership() -> None:
    text = render_manifest(VALUES)
    document = yaml.safe_load(text)
    assert document["kind"] == "ConfigMap" and document["metadata"]["name"] == "ecr-prod"
    assert document["metadata"]["labels"]["io.codefresh.integration-type"] == "registry.ecr"
    assert document["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pulumi"
    assert document["data"] == {
        "type": "registry.ecr",
        "name": "ecr-prod",
        "region": "eu-west-1",
        "iamRoleArn": "arn:aws:iam::123456789012:role/r",
    }
    assert owner_of(text) == ("ecr-gitops", "prod")


def test_rendering_is_deterministic() -> None:
    assert render_manifest(VALUES) == render_manifest(VALUES)
    template = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${integrationName}'}\ndata: {r: '${roleArn}'}\n"
    assert render_manifest(VALUES, template) == render_manifest(VALUES, template)


def test_paths() -> None:
    assert manifest_path("x", None) == "resources/all-runtimes-all-clusters/x.yaml"
    assert manifest_path("x", "rt-a") == "resources/runtimes/rt-a/x.yaml"


def test_template_placeholders_are_substituted_in_values_only() -> None:
    template = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: cf-${integrationName}
  labels:
    codefresh.io/entity: integration
data:
  spec: "role=${roleArn} region=${region} runtime=${runtime} stack=${stack} cost=$$5"
"""
    tricky = ManifestValues("ecr", "x\nkind: Secret\n# ': [", "us-east-1", None, "p", "s")
    document = yaml.safe_load(render_manifest(tricky, template))
    assert document["kind"] == "ConfigMap" and document["metadata"]["name"] == "cf-ecr"
    assert document["data"]["spec"] == "role=x\nkind: Secret\n# ': [ region=us-east-1 runtime= stack=s cost=$5"
    assert document["metadata"]["annotations"] == {"ecr-gitops/pulumi-project": "p", "ecr-gitops/pulumi-stack": "s"}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${nope}'}\n", "unknown placeholder ${nope}"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\n", "exactly one"),
        ("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", "no metadata.name"),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: 1}\n",
            "fails the Kubernetes schema at data.a",
        ),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatum: {}\n", "fails the Kubernetes schema"),
        ("apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: a}\n", "is not a Kubernetes"),
        ("kind: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "exactly one Kubernetes object"),
    ],
)
def test_template_errors(template: str, message: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(message)):
        render_manifest(VALUES, template)


def test_owner_of_foreign_files() -> None:
    assert owner_of("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n") is None
    assert owner_of("{{ not yaml") is None


def test_program_reports_template_errors_before_resources(tmp_path: Path) -> None:
    template = Path("tests") / f"_tmp_template_{tmp_path.name}.yaml"
    template.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: '${oops}'}\n")
    try:
        mocks = RenderMocks("aws", "us-east-1")
        with pytest.raises(pulumi.RunError, match=r"ecr-gitops:manifestTemplate: unknown placeholder \$\{oops\}"):
            run_program(mocks, stack="dev", config=raw_config(manifestTemplate=str(template)))
        assert not [r for r in mocks.registrations if not r.typ.startswith("pulumi:")]
    finally:
        template.unlink()


def test_shipped_example_template_through_the_program() -> None:
    mocks = RenderMocks("aws", "us-east-1")
    run_program(
        mocks,
        stack="dev",
        config=raw_config(manifestTemplate="templates/ecr-integration.example.yaml", region="eu-west-1"),
    )
    (manifest,) = [r.inputs for r in mocks.registrations if r.typ == "pulumi-python:dynamic:Resource"]
    document = yaml.safe_load(manifest["content"])
    assert document["metadata"]["labels"]["codefresh.io/entity"] == "integration"
    assert document["data"] == {
        "provider": "ecr",
        "authenticationMethod": "iam-role",
        "iamRole": "arn:aws:iam::123456789012:role/ecr-gitops-ecr-dev",
        "region": "eu-west-1",
    }
    assert document["metadata"]["annotations"] == {
        "ecr-gitops/pulumi-project": "ecr-gitops",
        "ecr-gitops/pulumi-stack": "dev",
    }
