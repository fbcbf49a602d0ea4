"""Apply what the program registers, for real, without the Pulumi engine.

The SDK's mock monitor hands every registration to `new_resource`; here each one is carried out
with boto3 against the emulator, and the manifest through the real (dill-deserialised) dynamic
provider. Every action records its undo, so teardown runs in reverse order. This is a harness for
exercising the program, not an engine: no state, no diff, no update.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import dill
import pulumi
from pulumi.runtime import rpc

from ..gitfile import GitFileProvider
from ..policies import cluster_facts
from ..render import DYNAMIC_TYPE


@dataclass
class Applied:
    typ: str
    name: str
    outputs: dict[str, Any]
    undo: Callable[[], None] | None
    note: str = ""


@dataclass
class ApplyingMocks(pulumi.runtime.Mocks):
    session: boto3.Session
    endpoint_url: str
    region: str
    applied: list[Applied] = field(default_factory=list)

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint_url, region_name=self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            identity = self.client("sts").get_caller_identity()
            return {"accountId": identity["Account"], "arn": identity["Arn"], "userId": identity["UserId"]}, []
        if args.token == "aws:eks/getCluster:getCluster":
            facts = cluster_facts(self.client("eks").describe_cluster(name=args.args["name"])["cluster"])
            return {
                "name": facts.name,
                "roleArn": facts.role_arn,
                "identities": [{"oidcs": [{"issuer": facts.oidc_issuer}]}],
            }, []
        raise NotImplementedError(f"the sandbox does not emulate {args.token}")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if not args.custom:  # component resources: nothing to apply
            return args.name, {}
        handlers: dict[str, Callable[[dict[str, Any]], Applied]] = {
            "aws:iam/role:Role": self._role,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._attachment,
            "aws:iam/rolePolicy:RolePolicy": self._role_policy,
            "aws:eks/podIdentityAssociation:PodIdentityAssociation": self._pod_identity,
            DYNAMIC_TYPE: self._dynamic,
        }
        handler = handlers.get(args.typ)
        if handler is None:
            raise NotImplementedError(f"the sandbox cannot apply {args.typ}")
        applied = handler(dict(args.inputs))
        applied.typ, applied.name = args.typ, args.name
        self.applied.append(applied)
        return applied.outputs.get("id", args.name), applied.outputs

    def _role(self, inputs: dict[str, Any]) -> Applied:
        iam = self.client("iam")
        name = inputs["name"]
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "Path": inputs.get("path", "/"),
            "AssumeRolePolicyDocument": inputs["assumeRolePolicy"],
            "Description": inputs.get("description", ""),
            "MaxSessionDuration": int(inputs.get("maxSessionDuration", 3600)),
            "Tags": [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()],
        }
        if inputs.get("permissionsBoundary"):
            kwargs["PermissionsBoundary"] = inputs["permissionsBoundary"]
        role = iam.create_role(**kwargs)["Role"]
        return Applied("", "", {**inputs, "id": name, "arn": role["Arn"]}, lambda: iam.delete_role(RoleName=name))

    def _attachment(self, inputs: dict[str, Any]) -> Applied:
        iam = self.client("iam")
        iam.attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
        return Applied(
            "", "", inputs, lambda: iam.detach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
        )

    def _role_policy(self, inputs: dict[str, Any]) -> Applied:
        iam = self.client("iam")
        iam.put_role_policy(RoleName=inputs["role"], PolicyName=inputs["name"], PolicyDocument=inputs["policy"])
        return Applied(
            "", "", inputs, lambda: iam.delete_role_policy(RoleName=inputs["role"], PolicyName=inputs["name"])
        )

    def _pod_identity(self, inputs: dict[str, Any]) -> Applied:
        return Applied("", "", inputs, None, note="not applied: moto has no EKS Pod Identity API")

    def _dynamic(self, inputs: dict[str, Any]) -> Applied:
        """Deserialise the provider from its inputs, as the engine's dynamic provider host does."""
        serialized = rpc.unwrap_rpc_secret(inputs.pop("__provider"))  # the SDK marks the provider secret
        provider = dill.loads(base64.b64decode(serialized))
        if not isinstance(provider, GitFileProvider):
            raise TypeError(f"unexpected dynamic provider {type(provider).__name__}")
        check = provider.check({}, inputs)
        if check.failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in check.failures))
        created = provider.create(check.inputs)
        outputs = dict(created.outs or {})
        return Applied("", "", {**outputs, "id": created.id}, lambda: provider.delete(created.id, outputs))

    def teardown(self) -> list[str]:
        """Undo everything in reverse order; returns what could not be undone (empty when clean)."""
        failures = []
        while self.applied:
            applied = self.applied.pop()
            if applied.undo is None:
                continue
            try:
                applied.undo()
            except Exception as exc:
                failures.append(f"{applied.name}: {exc}")
        return failures
