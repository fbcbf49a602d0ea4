"""The Codefresh integration manifest: pure, deterministic rendering and placement.

The default format is ours (see README): Codefresh's exact ECR ConfigMap keys are not public. A
user who captured what the Codefresh UI wrote can supply a template instead. Templates are parsed
as YAML first and placeholders are substituted inside string scalars only, so a value can never
change the document's structure; the result is serialised by PyYAML, never by concatenation.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import yaml

INTEGRATION_TYPE = "registry.ecr"
OWNER_PROJECT = "ecr-gitops/pulumi-project"
OWNER_STACK = "ecr-gitops/pulumi-stack"
ALL_RUNTIMES_DIR = "resources/all-runtimes-all-clusters"
RUNTIME_DIR = "resources/runtimes"
#: The Kubernetes schema version manifests are validated against.
KUBERNETES_VERSION = "1.30"


# kubernetes-validate re-reads and re-parses its schema files (package data, megabytes of JSON) on
# every call: 12 ms per manifest, half of a 100-integration render. The files never change while we
# run, so its loader is memoised; the library still does all of the validation.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)


class ManifestError(Exception):
    """A template that cannot produce a valid Kubernetes object."""


@dataclass(frozen=True)
class ManifestValues:
    """Everything a manifest may mention; also the template placeholders (see PLACEHOLDERS)."""

    integration_name: str
    role_arn: str
    region: str
    runtime: str | None  # None: all runtimes
    project: str
    stack: str

    def placeholders(self) -> dict[str, str]:
        return {
            "integrationName": self.integration_name,
            "integrationType": INTEGRATION_TYPE,
            "roleArn": self.role_arn,
            "region": self.region,
            "runtime": self.runtime or "",
            "project": self.project,
            "stack": self.stack,
        }


PLACEHOLDERS = tuple(ManifestValues("", "", "", None, "", "").placeholders())


def manifest_path(integration_name: str, runtime: str | None) -> str:
    """Where Codefresh's runtimes pick the file up (see the shared-config repo layout)."""
    directory = f"{RUNTIME_DIR}/{runtime}" if runtime else ALL_RUNTIMES_DIR
    return f"{directory}/{integration_name}.yaml"


def default_manifest(values: ManifestValues) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": values.integration_name,
            "labels": {
                "app.kubernetes.io/managed-by": "pulumi",
                "io.codefresh.integration-name": values.integration_name,
                "io.codefresh.integration-type": INTEGRATION_TYPE,
            },
        },
        "data": {
            "type": INTEGRATION_TYPE,
            "name": values.integration_name,
            "region": values.region,
            "iamRoleArn": values.role_arn,
        },
    }


def _substitute(node: Any, mapping: dict[str, str]) -> Any:
    if isinstance(node, str):
        try:
            return string.Template(node).substitute(mapping)
        except KeyError as exc:
            raise ManifestError(f"unknown placeholder ${{{exc.args[0]}}}; known: {', '.join(PLACEHOLDERS)}") from None
        except ValueError as exc:
            raise ManifestError(f"bad placeholder in {node!r}: {exc} (write $$ for a literal $)") from None
    if isinstance(node, list):
        return [_substitute(item, mapping) for item in node]
    if isinstance(node, dict):
        return {_substitute(key, mapping): _substitute(value, mapping) for key, value in node.items()}
    return node


def template_manifest(template: str, values: ManifestValues) -> dict[str, Any]:
    try:
        documents = [d for d in yaml.safe_load_all(template) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"not valid YAML: {exc}".replace("\n", " ")) from None
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ManifestError(f"must hold exactly one Kubernetes object, found {len(documents)} document(s)")
    result: dict[str, Any] = _substitute(documents[0], values.placeholders())
    return result


def _validate(document: dict[str, Any]) -> None:
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise ManifestError("the object has no metadata.name")
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        raise ManifestError(
            f"{document.get('apiVersion')}/{document.get('kind')} is not a Kubernetes {KUBERNETES_VERSION} kind"
        ) from None
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path) or "(top level)"
        raise ManifestError(f"fails the Kubernetes schema at {where}: {exc.message}") from None


def render_manifest(values: ManifestValues, template: str | None = None) -> str:
    """The file's bytes: deterministic for the same inputs, with ownership annotations added."""
    document = template_manifest(template, values) if template is not None else default_manifest(values)
    metadata = document.setdefault("metadata", {}) if isinstance(document.get("metadata", {}), dict) else None
    if metadata is None:
        raise ManifestError("metadata must be a mapping")
    annotations = metadata.setdefault("annotations", {})
    if not isinstance(annotations, dict):
        raise ManifestError("metadata.annotations must be a mapping")
    annotations[OWNER_PROJECT] = values.project
    annotations[OWNER_STACK] = values.stack
    _validate(document)
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)


def owner_of(content: str) -> tuple[str, str] | None:
    """The (project, stack) recorded in a manifest, or None when it carries no ownership."""
    try:
        documents = list(yaml.safe_load_all(content))
    except yaml.YAMLError:
        return None
    for document in documents:
        if isinstance(document, dict) and isinstance(document.get("metadata"), dict):
            annotations = document["metadata"].get("annotations")
            if isinstance(annotations, dict) and OWNER_PROJECT in annotations and OWNER_STACK in annotations:
                return str(annotations[OWNER_PROJECT]), str(annotations[OWNER_STACK])
    return None
