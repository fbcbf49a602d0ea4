"""The CrossGuard pack: every rule's validation with realistic resource inputs, good and bad."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs

from components.mockrun import run_program
from components.render import RenderMocks
from components.stackfile import PROJECT_DIR, load_stack_file

sys.path.insert(0, str(PROJECT_DIR / "policy"))
import rules

STACKS = sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
NODE = "arn:aws:iam::123456789012:role/node"
TRUST_OK = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": [NODE]}, "Action": "sts:AssumeRole"}],
}
OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
URN = "urn:pulumi:test::ecr-gitops::aws:iam/role:Role::r"


def violations(
    resource_type: str, props: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """Run every policy of the pack on one resource, as the analyzer would; violations by policy name."""
    found: dict[str, list[str]] = {}
    for policy in rules.POLICIES:
        policy_config = (config or {}).get(policy.name, {})
        args = ResourceValidationArgs(resource_type, props, URN, "r", OPTIONS, None, policy_config)

        def report(message: str, _urn: str | None, name: str = policy.name) -> None:
            found.setdefault(name, []).append(message)

        policy.validate(args, report)
    return found


def role(**props: Any) -> dict[str, Any]:
    return {"name": "r", "path": "/", "assumeRolePolicy": json.dumps(TRUST_OK), "maxSessionDuration": 3600, **props}


@pytest.mark.parametrize("path", STACKS, ids=lambda p: p.name)
def test_every_shipped_stack_passes_the_pack(path: Path) -> None:
    stack_file = load_stack_file(path)
    mocks = RenderMocks("aws", "us-east-1")
    run_program(mocks, stack=stack_file.stack, config=stack_file.config, secret_keys=stack_file.secret_keys)
    checked = [r for r in mocks.registrations if r.typ in (rules.ROLE, rules.ROLE_POLICY, rules.ATTACHMENT)]
    assert checked
    for registration in checked:
        assert violations(registration.typ, registration.inputs) == {}, registration


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": [NODE, "arn:aws:iam::*:role/x"]},
        {"AWS": "arn:aws:iam::123456789012:root"},
        {"AWS": "123456789012"},
    ],
)
def test_wide_trust_is_refused(principal: Any) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }
    assert list(violations(rules.ROLE, role(assumeRolePolicy=json.dumps(trust)))) == ["no-wildcard-trust"]


def test_not_principal_is_refused() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "sts:AssumeRole"}],
    }
    assert "NotPrincipal" in violations(rules.ROLE, role(assumeRolePolicy=json.dumps(trust)))["no-wildcard-trust"][0]


@pytest.mark.parametrize(
    "actions", ["ecr:*", "*", ["ecr:BatchGetImage", "ecr:PutImage"], "ecr:Upload*", "iam:PassRole", "iam:*"]
)
def test_write_actions_in_inline_policies_are_refused(actions: Any) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    found = violations(rules.ROLE_POLICY, {"name": "p", "role": "r", "policy": json.dumps(doc)})
    assert list(found) == ["no-ecr-or-iam-write"]


def test_denied_writes_and_reads_are_fine() -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:Describe*", "sts:AssumeRole"], "Resource": "*"},
            {"Effect": "Deny", "Action": "ecr:*", "Resource": "*"},
        ],
    }
    assert violations(rules.ROLE_POLICY, {"name": "p", "role": "r", "policy": json.dumps(doc)}) == {}


@pytest.mark.parametrize(
    "managed", ["AmazonEC2ContainerRegistryPowerUser", "AmazonEC2ContainerRegistryFullAccess", "AdministratorAccess"]
)
def test_broad_managed_policies_are_refused(managed: str) -> None:
    found = violations(rules.ATTACHMENT, {"role": "r", "policyArn": f"arn:aws:iam::aws:policy/{managed}"})
    assert list(found) == ["no-ecr-or-iam-write"]


def test_session_ceiling_is_configurable() -> None:
    assert list(violations(rules.ROLE, role(maxSessionDuration=7200))) == ["max-session-duration"]
    assert violations(rules.ROLE, role(maxSessionDuration=7200), {"max-session-duration": {"ceiling": 7200}}) == {}


def test_permissions_boundary_when_required() -> None:
    config = {"permissions-boundary": {"required": True}}
    assert list(violations(rules.ROLE, role(), config)) == ["permissions-boundary"]
    assert violations(rules.ROLE, role(permissionsBoundary="arn:aws:iam::123456789012:policy/b"), config) == {}
    assert violations(rules.ROLE, role()) == {}


def test_required_tags() -> None:
    config = {"required-tags": {"tags": ["owner", "environment"]}}
    found = violations(rules.ROLE, role(tags={"owner": "platform"}), config)
    assert found == {"required-tags": ["missing required tags: environment"]}
    assert violations(rules.ROLE, role(tags={"owner": "p", "environment": "dev"}), config) == {}
