"""Policy documents: least privilege, partition-aware, never a wildcard principal; linted by parliament."""

from __future__ import annotations

import json
from typing import Any

import pytest
from parliament import analyze_policy_string

from components import policies
from components.config import AccessSettings, ServiceAccount, TrustSettings
from components.policies import ClusterFacts

CLUSTER = ClusterFacts(
    "prod", "arn:aws:iam::123456789012:role/eks-service-role", "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
)
ROLE = "arn:aws:iam::123456789012:role/node"


def lint(document: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(f.issue, f.detail) for f in analyze_policy_string(json.dumps(document)).findings]


def assert_no_wildcard_principal(document: dict[str, Any]) -> None:
    for statement in document["Statement"]:
        for values in statement["Principal"].values():
            for principal in values if isinstance(values, list) else [values]:
                assert "*" not in principal and not principal.endswith(":root")


def test_role_trust_lists_roles_and_cluster_role_sorted() -> None:
    doc = policies.trust_policy(
        TrustSettings("role", (ROLE,), "prod"), partition="aws", account_id="123456789012", cluster=CLUSTER
    )
    (statement,) = doc["Statement"]
    assert statement["Principal"] == {"AWS": sorted([ROLE, CLUSTER.role_arn])}
    assert statement["Action"] == "sts:AssumeRole" and "Condition" not in statement
    assert_no_wildcard_principal(doc)


def test_role_trust_external_id_condition() -> None:
    doc = policies.trust_policy(
        TrustSettings("role", (ROLE,), external_id="cf-ext"), partition="aws", account_id="1", cluster=None
    )
    assert doc["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": "cf-ext"}}


def test_irsa_trust_pins_service_account_and_audience() -> None:
    trust = TrustSettings("irsa", eks_cluster_name="prod", service_account=ServiceAccount("codefresh", "cap-app-proxy"))
    doc = policies.trust_policy(trust, partition="aws-cn", account_id="123456789012", cluster=CLUSTER)
    (statement,) = doc["Statement"]
    issuer = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    assert statement["Principal"] == {"Federated": f"arn:aws-cn:iam::123456789012:oidc-provider/{issuer}"}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:codefresh:cap-app-proxy",
        f"{issuer}:aud": "sts.amazonaws.com",
    }


def test_irsa_without_issuer_is_refused() -> None:
    trust = TrustSettings("irsa", eks_cluster_name="prod", service_account=ServiceAccount("a", "b"))
    with pytest.raises(ValueError, match="OIDC issuer"):
        policies.trust_policy(trust, partition="aws", account_id="1", cluster=ClusterFacts("prod", ROLE, None))


def test_pod_identity_trust() -> None:
    doc = policies.trust_policy(TrustSettings("pod-identity"), partition="aws", account_id="1", cluster=None)
    assert doc["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert doc["Statement"][0]["Action"] == ["sts:AssumeRole", "sts:TagSession"]


@pytest.mark.parametrize(
    ("mode", "partition", "expected"),
    [
        ("readonly", "aws", ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"]),
        ("pullonly", "aws-us-gov", ["arn:aws-us-gov:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"]),
        ("scoped", "aws", []),
    ],
)
def test_managed_policies(mode: str, partition: str, expected: list[str]) -> None:
    assert policies.managed_policy_arns(AccessSettings(mode), partition) == expected


def test_scoped_policy_only_token_on_star() -> None:
    access = AccessSettings("scoped", ("apps/*", "base"), registry_account_id="333333333333")
    doc = policies.scoped_read_policy(access, partition="aws", region="eu-west-1", account_id="123456789012")
    token, reads = doc["Statement"]
    assert token == {"Sid": "EcrAuthToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
    assert reads["Resource"] == [
        "arn:aws:ecr:eu-west-1:333333333333:repository/apps/*",
        "arn:aws:ecr:eu-west-1:333333333333:repository/base",
    ]
    assert all(
        a.startswith("ecr:") and not a.startswith(("ecr:Put", "ecr:Delete", "ecr:Create")) for a in reads["Action"]
    )
    assert lint(doc) == []


def test_scoped_policy_defaults_to_deploying_account() -> None:
    doc = policies.scoped_read_policy(
        AccessSettings("scoped", ("a1",)), partition="aws", region="us-east-1", account_id="1" * 12
    )
    assert doc["Statement"][1]["Resource"] == ["arn:aws:ecr:us-east-1:111111111111:repository/a1"]


def test_grant_policy_lints_clean() -> None:
    doc = policies.assume_grant_policy("arn:aws:iam::123456789012:role/ecr-gitops-x")
    assert lint(doc) == []


def test_linter_is_live() -> None:
    """Guards the lint tests above: parliament does report a typo'd action and a Resource `*` read."""
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:BatchGetImag", "Resource": "*"}]}
    assert lint(bad)


def test_role_arn_is_predictable() -> None:
    arn = policies.role_arn(partition="aws-cn", account_id="123456789012", path="/cf/", name="r")
    assert arn == "arn:aws-cn:iam::123456789012:role/cf/r"


def test_session_arn_matches_only_its_role() -> None:
    session = "arn:aws:sts::123456789012:assumed-role/node/s1"
    assert policies.is_session_of(session, "arn:aws:iam::123456789012:role/node")
    assert policies.is_session_of(session, "arn:aws:iam::123456789012:role/team/node")
    assert not policies.is_session_of(session, "arn:aws:iam::123456789012:role/other")
    assert not policies.is_session_of(session, "arn:aws:iam::999999999999:role/node")
    assert not policies.is_session_of("arn:aws:iam::123456789012:user/node", "arn:aws:iam::123456789012:role/node")
