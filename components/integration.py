"""EcrGitOpsIntegration: the role Codefresh assumes, plus its registration in the shared-config repo."""

from __future__ import annotations

from typing import Any

import pulumi

from .config import IntegrationConfig, StackConfig
from .policies import ClusterFacts
from .role import EcrAccessRole


class EcrGitOpsIntegration(pulumi.ComponentResource):
    """One Codefresh ECR integration: an EcrAccessRole and the manifest file(s) that register it."""

    exports: dict[str, Any]

    def __init__(
        self,
        name: str,
        cfg: IntegrationConfig,
        *,
        stack: StackConfig,
        account_id: str,
        cluster: ClusterFacts | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ecr-gitops:index:EcrGitOpsIntegration", name, None, opts)
        role = EcrAccessRole(
            name, cfg, account_id=account_id, cluster=cluster, opts=pulumi.ResourceOptions(parent=self)
        )
        self.exports = {
            "roleArn": role.arn,
            "roleName": role.name,
            "trustMode": cfg.trust.mode,
            "managedPolicyArns": role.managed_policy_arns,
            "inlinePolicies": role.inline_policies,
        }
        self.register_outputs(self.exports)
