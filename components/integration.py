"""EcrGitOpsIntegration: the role Codefresh assumes, plus its registration in the shared-config repo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from .config import PROJECT, IntegrationConfig
from .gitfile import GitFile
from .manifest import ManifestError, ManifestValues, manifest_path, render_manifest
from .policies import ClusterFacts, role_arn
from .role import EcrAccessRole
from .stackfile import PROJECT_DIR


@dataclass(frozen=True)
class PlannedManifest:
    runtime: str | None
    path: str
    content: str


def plan_manifests(cfg: IntegrationConfig, *, stack: str, account_id: str) -> list[PlannedManifest]:
    """Every file the integration writes, rendered up front so template errors stop the run early.

    The role ARN is derived, not read from the role: AWS's ARN format is fixed, so the preview can show
    the exact file before the role exists. Raises ManifestError.
    """
    arn = role_arn(partition=cfg.partition, account_id=account_id, path=cfg.role.path, name=cfg.role.name)
    template = None
    if cfg.gitops.manifest_template:
        try:
            template = (PROJECT_DIR / cfg.gitops.manifest_template).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError(f"cannot read {cfg.gitops.manifest_template}: {exc}") from None
    planned = []
    for runtime in cfg.gitops.runtimes or (None,):
        values = ManifestValues(cfg.name, arn, cfg.region, runtime, PROJECT, stack)
        planned.append(PlannedManifest(runtime, manifest_path(cfg.name, runtime), render_manifest(values, template)))
    return planned


class EcrGitOpsIntegration(pulumi.ComponentResource):
    """One Codefresh ECR integration: an EcrAccessRole and the manifest file(s) that register it.

    The files depend on the role, so `up` writes them after the role exists and `destroy` removes
    them before the role goes.
    """

    exports: dict[str, Any]

    def __init__(
        self,
        name: str,
        cfg: IntegrationConfig,
        *,
        stack: str,
        account_id: str,
        cluster: ClusterFacts | None,
        manifests: list[PlannedManifest],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("ecr-gitops:index:EcrGitOpsIntegration", name, None, opts)
        role = EcrAccessRole(
            name, cfg, account_id=account_id, cluster=cluster, opts=pulumi.ResourceOptions(parent=self)
        )
        files = [
            GitFile(
                f"{name}-manifest-{manifest.runtime or 'all-runtimes'}",
                repo_url=cfg.gitops.repo_url,
                branch=cfg.gitops.branch,
                path=manifest.path,
                content=manifest.content,
                project=PROJECT,
                stack=stack,
                integration=cfg.name,
                runtime=manifest.runtime,
                author_name=cfg.gitops.author_name,
                author_email=cfg.gitops.author_email,
                adopt_existing=cfg.gitops.adopt_existing,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
            )
            for manifest in manifests
        ]
        self.exports = {
            "roleArn": role.arn,
            "roleName": role.name,
            "trustMode": cfg.trust.mode,
            "managedPolicyArns": role.managed_policy_arns,
            "inlinePolicies": role.inline_policies,
            "repoUrl": cfg.gitops.repo_url,
            "manifests": [{"path": f.path, "commit": f.commit} for f in files],
        }
        self.register_outputs(self.exports)
