"""The organisation's IAM rules for the integration roles, as CrossGuard resource validations.

Each rule is a pure function from a resource's inputs (and the rule's config) to violation
messages, so tests can call it without the engine; `POLICIES` wires them into pulumi-policy.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyConfigSchema, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: components.iam_actions
from components.iam_actions import write_actions

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
#: Managed policies an integration role may carry: ECR read only.
READ_ONLY_MANAGED = ("AmazonEC2ContainerRegistryReadOnly", "AmazonEC2ContainerRegistryPullOnly")

Props = Mapping[str, Any]


def _document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    found: list[str] = []
    for values in (principal or {}).values():
        found += values if isinstance(values, list) else [values]
    return found


def trust_violations(props: Props) -> list[str]:
    """No wildcard and no account-root principal may assume the role."""
    messages = []
    for statement in _document(props.get("assumeRolePolicy")).get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        if "NotPrincipal" in statement:
            messages.append("trust policy uses NotPrincipal: name the principals instead")
        for principal in _principals(statement):
            if "*" in principal:
                messages.append(f"trust policy admits a wildcard principal {principal!r}")
            elif principal.endswith(":root") or principal.isdigit():
                messages.append(f"trust policy admits a whole account ({principal}); name the role instead")
    return messages


def write_violations(resource_type: str, props: Props) -> list[str]:
    """No ECR or IAM write through inline policies, and only read-only ECR managed policies."""
    if resource_type == ROLE_POLICY:
        granted = write_actions([_document(props.get("policy"))])
        return [f"inline policy {props.get('name')!r} grants write actions: {', '.join(granted)}"] if granted else []
    if resource_type == ATTACHMENT:
        arn = str(props.get("policyArn", ""))
        if arn.rsplit("/", 1)[-1] not in READ_ONLY_MANAGED:
            return [f"managed policy {arn} is not one of the read-only ECR policies {', '.join(READ_ONLY_MANAGED)}"]
    return []


def session_violations(props: Props, ceiling: int) -> list[str]:
    duration = int(props.get("maxSessionDuration") or 3600)
    return [f"maxSessionDuration {duration} s exceeds the ceiling of {ceiling} s"] if duration > ceiling else []


def boundary_violations(props: Props, required: bool) -> list[str]:
    return (
        ["a permissions boundary is required (set permissionsBoundaryArn)"]
        if required and not props.get("permissionsBoundary")
        else []
    )


def tag_violations(props: Props, required_tags: list[str]) -> list[str]:
    tags = props.get("tags") or {}
    missing = [tag for tag in required_tags if tag not in tags]
    return [f"missing required tags: {', '.join(missing)}"] if missing else []


def _policy(
    name: str,
    description: str,
    types: tuple[str, ...],
    check: Callable[[ResourceValidationArgs], list[str]],
    schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in types:
            for message in check(args):
                report_violation(message, None)

    return ResourceValidationPolicy(name=name, description=description, validate=validate, config_schema=schema)


POLICIES = [
    _policy(
        "no-wildcard-trust",
        "Integration roles may not trust a wildcard or a whole account.",
        (ROLE,),
        lambda args: trust_violations(args.props),
    ),
    _policy(
        "no-ecr-or-iam-write",
        "Integration roles may read ECR; they may not write ECR or IAM.",
        (ROLE_POLICY, ATTACHMENT),
        lambda args: write_violations(args.resource_type, args.props),
    ),
    _policy(
        "max-session-duration",
        "Role sessions may not outlast the organisation's ceiling.",
        (ROLE,),
        lambda args: session_violations(args.props, int(args.get_config().get("ceiling", 3600))),
        PolicyConfigSchema({"ceiling": {"type": "integer", "default": 3600, "minimum": 3600, "maximum": 43200}}),
    ),
    _policy(
        "permissions-boundary",
        "Roles carry a permissions boundary when the organisation requires one.",
        (ROLE,),
        lambda args: boundary_violations(args.props, bool(args.get_config().get("required", False))),
        PolicyConfigSchema({"required": {"type": "boolean", "default": False}}),
    ),
    _policy(
        "required-tags",
        "Roles carry the tags the organisation requires.",
        (ROLE,),
        lambda args: tag_violations(args.props, list(args.get_config().get("tags", []))),
        PolicyConfigSchema({"tags": {"type": "array", "items": {"type": "string"}, "default": []}}),
    ),
]
