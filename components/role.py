"""EcrAccessRole: the IAM role Codefresh assumes to read ECR, and what hangs off it."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from . import policies
from .config import ROLE_ARN, IntegrationConfig
from .policies import ClusterFacts


class EcrAccessRole(pulumi.ComponentResource):
    """Wires the role, its ECR permissions, optional caller-side grants and the pod identity association.

    All documents come from `policies`; this class only turns them into resources.
    """

    role: aws.iam.Role
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        cfg: IntegrationConfig,
        *,
        account_id: str,
        cluster: ClusterFacts | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ecr-gitops:index:EcrAccessRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        trust = policies.trust_policy(cfg.trust, partition=cfg.partition, account_id=account_id, cluster=cluster)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=cfg.role.name,
            path=cfg.role.path,
            description=f"Codefresh ECR integration {cfg.name}: read access for the GitOps runtime (ecr-gitops)",
            assume_role_policy=json.dumps(trust),
            permissions_boundary=cfg.role.permissions_boundary_arn,
            max_session_duration=cfg.role.max_session_duration,
            tags=dict(cfg.role.tags) or None,
            opts=child,
        )
        self.arn = self.role.arn
        self.name = self.role.name

        self.managed_policy_arns = policies.managed_policy_arns(cfg.access, cfg.partition)
        for arn in self.managed_policy_arns:
            aws.iam.RolePolicyAttachment(
                f"{name}-{arn.rsplit('/', 1)[-1]}", role=self.role.name, policy_arn=arn, opts=child
            )
        self.inline_policies = policies.inline_policies(
            cfg.access, partition=cfg.partition, region=cfg.region, account_id=account_id
        )
        for policy_name, document in self.inline_policies.items():
            aws.iam.RolePolicy(
                f"{name}-{policy_name}", role=self.role.name, name=policy_name, policy=json.dumps(document), opts=child
            )

        if cfg.trust.grant_trusted_roles:
            self._grant_trusted_roles(name, cfg, account_id, cluster, child)

        if cfg.trust.mode == "pod-identity" and cfg.trust.service_account and cfg.trust.eks_cluster_name:
            aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=cfg.trust.eks_cluster_name,
                namespace=cfg.trust.service_account.namespace,
                service_account=cfg.trust.service_account.name,
                role_arn=self.role.arn,
                opts=child,
            )

        self.register_outputs(
            {
                "roleArn": self.role.arn,
                "roleName": self.role.name,
                "trustPolicy": trust,
                "managedPolicyArns": self.managed_policy_arns,
                "inlinePolicies": self.inline_policies,
            }
        )

    def _grant_trusted_roles(
        self,
        name: str,
        cfg: IntegrationConfig,
        account_id: str,
        cluster: ClusterFacts | None,
        child: pulumi.ResourceOptions,
    ) -> None:
        """Caller-side sts:AssumeRole for trusted roles of this account; other accounts must grant it themselves."""
        for arn in policies.trusted_principals(cfg.trust, cluster):
            match = ROLE_ARN.match(arn)
            if match is None or match["account"] != account_id:
                pulumi.log.warn(
                    f"{cfg.name}: {arn} is in another account; grant it sts:AssumeRole on this role there",
                    resource=self,
                )
                continue
            trusted_name = match["name"]
            aws.iam.RolePolicy(
                f"{name}-grant-{trusted_name}",
                role=trusted_name,
                name=policies.grant_policy_name(cfg.role.name),
                policy=self.role.arn.apply(lambda role_arn: json.dumps(policies.assume_grant_policy(role_arn))),
                opts=child,
            )
