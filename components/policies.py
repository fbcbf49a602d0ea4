"""IAM policy documents as pure functions of the parsed config and looked-up facts.

Kept free of Pulumi so that tests, the policy linter and `render` see exactly the documents that
`pulumi up` sends to AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .config import AccessSettings, TrustSettings

PolicyDocument = dict[str, Any]

MANAGED_POLICIES = {
    "readonly": "AmazonEC2ContainerRegistryReadOnly",
    "pullonly": "AmazonEC2ContainerRegistryPullOnly",
}

#: Read actions that can be scoped to repository ARNs (GetAuthorizationToken cannot).
SCOPED_READ_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:ListImages",
)


@dataclass(frozen=True)
class ClusterFacts:
    """What the program looked up about an EKS cluster."""

    name: str
    role_arn: str
    oidc_issuer: str | None  # https://oidc.eks.<region>.amazonaws.com/id/<ID>


def trusted_principals(trust: TrustSettings, cluster: ClusterFacts | None) -> tuple[str, ...]:
    """Role ARNs a role-mode trust policy admits: the configured ones plus the cluster's service role."""
    arns = set(trust.trusted_role_arns)
    if cluster is not None:
        arns.add(cluster.role_arn)
    return tuple(sorted(arns))


def trust_policy(
    trust: TrustSettings, *, partition: str, account_id: str, cluster: ClusterFacts | None
) -> PolicyDocument:
    """The role's trust policy. Never a wildcard or account-root principal."""
    if trust.mode == "role":
        statement: dict[str, Any] = {
            "Sid": "TrustedRolesAssume",
            "Effect": "Allow",
            "Principal": {"AWS": list(trusted_principals(trust, cluster))},
            "Action": "sts:AssumeRole",
        }
        if trust.external_id:
            statement["Condition"] = {"StringEquals": {"sts:ExternalId": trust.external_id}}
    elif trust.mode == "irsa":
        if cluster is None or not cluster.oidc_issuer or trust.service_account is None:
            raise ValueError("irsa trust needs the cluster's OIDC issuer and a service account")
        issuer = cluster.oidc_issuer.removeprefix("https://")
        sa = trust.service_account
        statement = {
            "Sid": "ServiceAccountWebIdentity",
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{sa.namespace}:{sa.name}",
                    f"{issuer}:aud": "sts.amazonaws.com",
                }
            },
        }
    elif trust.mode == "pod-identity":
        statement = {
            "Sid": "EksPodIdentity",
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    else:
        raise ValueError(f"unknown trust mode {trust.mode!r}")
    return {"Version": "2012-10-17", "Statement": [statement]}


def managed_policy_arns(access: AccessSettings, partition: str) -> list[str]:
    """AWS managed ECR policies to attach (none in scoped mode)."""
    managed = MANAGED_POLICIES.get(access.mode)
    return [f"arn:{partition}:iam::aws:policy/{managed}"] if managed else []


def repository_arn(name: str, *, partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:ecr:{region}:{account_id}:repository/{name}"


def scoped_read_policy(access: AccessSettings, *, partition: str, region: str, account_id: str) -> PolicyDocument:
    """Least-privilege ECR read: a token on `*` (it cannot be scoped), every other read on repository ARNs."""
    account = access.registry_account_id or account_id
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EcrAuthToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "EcrReadScoped",
                "Effect": "Allow",
                "Action": list(SCOPED_READ_ACTIONS),
                "Resource": [
                    repository_arn(repo, partition=partition, region=region, account_id=account)
                    for repo in access.repositories
                ],
            },
        ],
    }


def inline_policies(
    access: AccessSettings, *, partition: str, region: str, account_id: str
) -> dict[str, PolicyDocument]:
    """Inline policies on the integration role, by policy name."""
    if access.mode != "scoped":
        return {}
    return {"ecr-read-scoped": scoped_read_policy(access, partition=partition, region=region, account_id=account_id)}


def grant_policy_name(role_name: str) -> str:
    """Name of the caller-side grant on a trusted role; `render` finds the grants by it."""
    return f"ecr-gitops-assume-{role_name}"[:128]


def cluster_facts(described: dict[str, Any]) -> ClusterFacts:
    """ClusterFacts from an EKS DescribeCluster `cluster` (boto3 shape)."""
    issuer = described.get("identity", {}).get("oidc", {}).get("issuer")
    return ClusterFacts(described["name"], described["roleArn"], issuer)


def assume_grant_policy(role_arn: str) -> PolicyDocument:
    """The caller-side permission given to a same-account trusted role (`grantTrustedRoles`)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AssumeEcrGitOpsRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
        ],
    }


_SESSION_ARN = re.compile(r"^arn:(?P<p>[\w-]+):sts::(?P<acct>\d{12}):assumed-role/(?P<role>[\w+=,.@-]+)/[^/]+$")
_ROLE_ARN = re.compile(r"^arn:(?P<p>[\w-]+):iam::(?P<acct>\d{12}):role/(?:.*/)?(?P<role>[\w+=,.@-]+)$")


def is_session_of(session_arn: str, role_arn: str) -> bool:
    """Whether an STS assumed-role session ARN belongs to the role ARN (sessions carry no role path)."""
    session, role = _SESSION_ARN.match(session_arn), _ROLE_ARN.match(role_arn)
    return bool(session and role and session.group("p", "acct", "role") == role.group("p", "acct", "role"))


def role_arn(*, partition: str, account_id: str, path: str, name: str) -> str:
    """The ARN AWS will give the role: known before creation, so manifests preview exactly."""
    return f"arn:{partition}:iam::{account_id}:role{path}{name}"
