"""`render`: what `pulumi up` would register, from the real program under the mock runtime.

Offline by design: invokes answer with placeholders (account 123456789012, a cluster role named
after the cluster), which the Markdown summary states.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from .config import IntegrationConfig, StackConfig
from .mockrun import run_program
from .policies import grant_policy_name, role_arn
from .stackfile import StackFile

PLACEHOLDER_ACCOUNT = "123456789012"
DYNAMIC_TYPE = "pulumi-python:dynamic:Resource"


@dataclass(frozen=True)
class Registration:
    typ: str
    name: str
    inputs: dict[str, Any]


class RenderMocks(pulumi.runtime.Mocks):
    """Records registrations; answers lookups with placeholders and never touches a network."""

    def __init__(self, partition: str, region: str) -> None:
        self.partition = partition
        self.region = region
        self.registrations: list[Registration] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.registrations.append(Registration(args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ == "aws:iam/role:Role":
            outputs["arn"] = role_arn(
                partition=self.partition,
                account_id=PLACEHOLDER_ACCOUNT,
                path=args.inputs.get("path", "/"),
                name=args.inputs["name"],
            )
        if args.typ == DYNAMIC_TYPE:
            outputs["commit"] = None  # nothing is committed by a render
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": PLACEHOLDER_ACCOUNT,
                "arn": f"arn:{self.partition}:iam::{PLACEHOLDER_ACCOUNT}:user/render",
                "userId": "AIDARENDER",
                "id": PLACEHOLDER_ACCOUNT,
            }, []
        if args.token == "aws:eks/getCluster:getCluster":
            name = args.args["name"]
            return {
                "name": name,
                "roleArn": f"arn:{self.partition}:iam::{PLACEHOLDER_ACCOUNT}:role/{name}-cluster-service-role",
                "identities": [
                    {"oidcs": [{"issuer": f"https://oidc.eks.{self.region}.amazonaws.com/id/EXAMPLE{name.upper()}"}]}
                ],
            }, []
        raise NotImplementedError(f"render has no placeholder for {args.token}")


def render(stack_file: StackFile, stack_config: StackConfig) -> dict[str, Any]:
    """Run the program offline and return the `render --format json` document."""
    first = stack_config.integrations[0]
    mocks = RenderMocks(first.partition, first.region)
    run_program(mocks, stack=stack_file.stack, config=stack_file.config, secret_keys=stack_file.secret_keys)
    return {
        "stack": stack_file.stack,
        "integrations": [_integration(cfg, mocks.registrations) for cfg in stack_config.integrations],
    }


def _integration(cfg: IntegrationConfig, registrations: list[Registration]) -> dict[str, Any]:
    """One integration's part of the document; sorted, since the SDK registers resources concurrently."""

    def of_type(typ: str) -> list[dict[str, Any]]:
        return sorted((r.inputs for r in registrations if r.typ == typ), key=lambda i: json.dumps(i, sort_keys=True))

    role = next(r for r in of_type("aws:iam/role:Role") if r["name"] == cfg.role.name)
    grant_name = grant_policy_name(cfg.role.name)
    policies = of_type("aws:iam/rolePolicy:RolePolicy")
    result: dict[str, Any] = {
        "name": cfg.name,
        "trustMode": cfg.trust.mode,
        "role": {
            "name": role["name"],
            "path": role.get("path", "/"),
            "trustPolicy": json.loads(role["assumeRolePolicy"]),
            "managedPolicyArns": [
                a["policyArn"]
                for a in of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                if a["role"] == cfg.role.name
            ],
            "inlinePolicies": {p["name"]: json.loads(p["policy"]) for p in policies if p["role"] == cfg.role.name},
            "permissionsBoundary": role.get("permissionsBoundary"),
            "maxSessionDuration": int(role.get("maxSessionDuration", 3600)),
            "tags": role.get("tags") or {},
        },
        "trustedRoleGrants": {p["role"]: json.loads(p["policy"]) for p in policies if p["name"] == grant_name},
        "podIdentityAssociations": [
            {k: a[k] for k in ("clusterName", "namespace", "serviceAccount")}
            for a in of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
            if a["roleArn"].endswith(f"{cfg.role.path}{cfg.role.name}")
        ],
        "manifests": sorted(
            (
                {"path": m["path"], "content": m["content"]}
                for m in of_type(DYNAMIC_TYPE)
                if m.get("integration") == cfg.name
            ),
            key=lambda m: m["path"],
        ),
    }
    return result


def to_markdown(document: dict[str, Any]) -> str:
    """A pull-request comment: what each integration trusts, may do, and writes to git."""
    lines = [f"## ecr-gitops: stack `{document['stack']}`", ""]
    lines.append(
        f"_Rendered offline: account `{PLACEHOLDER_ACCOUNT}` and EKS cluster roles stand in for the values "
        "`pulumi preview` looks up._"
    )
    for item in document["integrations"]:
        role = item["role"]
        lines += ["", f"### Integration `{item['name']}`", ""]
        lines.append(f"- **Role**: `{role['path']}{role['name']}` (max session {role['maxSessionDuration']} s)")
        if role["permissionsBoundary"]:
            lines.append(f"- **Permissions boundary**: `{role['permissionsBoundary']}`")
        lines.append(f"- **Trust** (`{item['trustMode']}` mode): {_trust_summary(role['trustPolicy'])}")
        for arn in role["managedPolicyArns"]:
            lines.append(f"- **Managed policy**: `{arn}`")
        for name, doc in role["inlinePolicies"].items():
            lines.append(f"- **Inline policy** `{name}`: {_permission_summary(doc)}")
        for trusted, doc in item["trustedRoleGrants"].items():
            lines.append(f"- **Grant on trusted role** `{trusted}`: {_permission_summary(doc)}")
        for assoc in item["podIdentityAssociations"]:
            lines.append(
                f"- **Pod identity association**: cluster `{assoc['clusterName']}`, "
                f"service account `{assoc['namespace']}/{assoc['serviceAccount']}`"
            )
        if item["manifests"]:
            lines += ["", "Files to be written to the shared configuration repo:", ""]
        for manifest in item["manifests"]:
            lines += [f"`{manifest['path']}`", "", "```yaml", manifest["content"].rstrip("\n"), "```", ""]
        lines += ["<details><summary>Trust policy</summary>", "", "```json"]
        lines += [json.dumps(role["trustPolicy"], indent=2), "```", "</details>"]
    return "\n".join(lines) + "\n"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _trust_summary(document: dict[str, Any]) -> str:
    parts = []
    for statement in document["Statement"]:
        principals = [f"`{p}`" for values in statement["Principal"].values() for p in _as_list(values)]
        actions = ", ".join(f"`{a}`" for a in _as_list(statement["Action"]))
        condition = f" when {json.dumps(statement['Condition'])}" if "Condition" in statement else ""
        parts.append(f"{', '.join(principals)} may {actions}{condition}")
    return "; ".join(parts)


def _permission_summary(document: dict[str, Any]) -> str:
    parts = []
    for statement in document["Statement"]:
        actions = ", ".join(f"`{a}`" for a in _as_list(statement["Action"]))
        resources = ", ".join(f"`{r}`" for r in _as_list(statement["Resource"]))
        parts.append(f"{actions} on {resources}")
    return "; ".join(parts)
