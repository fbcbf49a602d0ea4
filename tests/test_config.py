"""The config contract: every bad input reported at once, naming the stack file and the key."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, branch_problem, derived_role_name
from tests.helpers import NODE_ROLE, SOURCE, parse, raw_config


def problems(raw: dict[str, Any], template_exists: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(raw, template_exists)
    assert all(line.startswith(f"{SOURCE}: ") for line in str(info.value).splitlines())
    return info.value.problems


def test_minimal_config_parses_with_defaults() -> None:
    cfg = parse(raw_config()).integrations[0]
    assert (cfg.name, cfg.region, cfg.partition) == ("ecr", "us-east-1", "aws")
    assert cfg.trust.mode == "role" and cfg.trust.trusted_role_arns == (NODE_ROLE,)
    assert cfg.access.mode == "readonly"
    assert cfg.role.name == "ecr-gitops-ecr-test" and cfg.role.path == "/" and cfg.role.max_session_duration == 3600
    assert cfg.gitops.branch == "main" and cfg.gitops.runtimes == ()


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"integrationName": None}, "ecr-gitops:integrationName: is required"),
        ({"integrationName": "Bad_Name"}, "ecr-gitops:integrationName: 'Bad_Name' is not valid"),
        ({"integrationName": "a" * 64}, "ecr-gitops:integrationName:"),
        ({"integrationName": "../etc"}, "ecr-gitops:integrationName: '../etc' is not valid"),
        ({"region": "us-moon-1"}, "ecr-gitops:region: 'us-moon-1' is not an AWS region with ECR"),
        ({"aws:region": None}, "ecr-gitops:region: is required"),
        ({"trustMode": "oidc"}, "ecr-gitops:trustMode: 'oidc' is not one of role, irsa, pod-identity"),
        ({"trustedRoleArns": ["arn:aws:iam::12:role/x"]}, "ecr-gitops:trustedRoleArns: [0] 'arn:aws:iam::12:role/x'"),
        ({"trustedRoleArns": ["arn:aws:iam::123456789012:user/x"]}, "is not an IAM role ARN"),
        ({"trustedRoleArns": "arn:aws:iam::123456789012:role/x"}, "ecr-gitops:trustedRoleArns: expected a list"),
        ({"trustedRoleArns": [NODE_ROLE, NODE_ROLE]}, "ecr-gitops:trustedRoleArns: [1] "),
        (
            {"trustedRoleArns": ["arn:aws-cn:iam::123456789012:role/x"]},
            "is in partition aws-cn, but the region is in aws",
        ),
        ({"trustedRoleArns": None}, "role mode needs trustedRoleArns or eksClusterName"),
        ({"eksClusterName": "-bad"}, "ecr-gitops:eksClusterName: '-bad' is not valid"),
        ({"externalId": "x"}, "ecr-gitops:externalId: 'x' is not valid"),
        ({"grantTrustedRoles": "yes"}, "ecr-gitops:grantTrustedRoles: expected true or false"),
        ({"serviceAccount": "ns/sa"}, "ecr-gitops:serviceAccount: is only used in irsa and pod-identity modes"),
        ({"ecrAccess": "admin"}, "ecr-gitops:ecrAccess: 'admin' is not one of readonly, pullonly, scoped"),
        ({"ecrAccess": "scoped"}, "ecr-gitops:repositories: scoped access needs at least one repository"),
        ({"repositories": ["apps"]}, "ecr-gitops:repositories: is only used with ecrAccess: scoped"),
        ({"ecrAccess": "scoped", "repositories": ["Apps"]}, "ecr-gitops:repositories: [0] 'Apps' is not an ECR"),
        ({"ecrAccess": "scoped", "repositories": ["a"]}, "must be 2-256 characters"),
        ({"registryAccountId": "1234"}, "ecr-gitops:registryAccountId: '1234' is not valid"),
        ({"registryAccountId": 123456789012}, "ecr-gitops:registryAccountId: expected a non-empty string"),
        ({"runtimes": ["../other"]}, "ecr-gitops:runtimes: [0] '../other' is not a runtime name"),
        ({"runtimes": ["a", "a"]}, "ecr-gitops:runtimes: [1] 'a' is listed twice"),
        ({"sharedConfigRepo": None}, "ecr-gitops:sharedConfigRepo: is required"),
        ({"sharedConfigRepo": "https://user:tok@github.com/a/b.git"}, "must not contain credentials"),
        ({"sharedConfigRepo": "https://x-access-token@github.com/a/b.git"}, "must not contain credentials"),
        ({"sharedConfigRepo": "http://github.com/a/b.git"}, "sends data in clear text"),
        ({"sharedConfigRepo": "ftp://host/a.git"}, "is not an https, ssh or file URL"),
        ({"sharedConfigRepo": "https://github.com/a/b.git?ref=dev"}, "set the branch with sharedConfigBranch"),
        ({"sharedConfigBranch": "feature..x"}, "ecr-gitops:sharedConfigBranch: 'feature..x' is not a valid git branch"),
        ({"roleName": "a" * 65}, "ecr-gitops:roleName:"),
        ({"rolePath": "codefresh"}, "ecr-gitops:rolePath: 'codefresh' is not valid"),
        ({"permissionsBoundaryArn": "arn:aws:iam::123456789012:role/x"}, "ecr-gitops:permissionsBoundaryArn:"),
        ({"permissionsBoundaryArn": "arn:aws-us-gov:iam::aws:policy/B"}, "is not in the region's partition aws"),
        ({"maxSessionDuration": 60}, "ecr-gitops:maxSessionDuration: 60 is out of range 3600-43200"),
        ({"maxSessionDuration": "1h"}, "ecr-gitops:maxSessionDuration: expected an integer"),
        ({"tags": {"aws:owner": "me"}}, "tag key 'aws:owner' uses the reserved prefix 'aws:'"),
        ({"tags": {"AWS:x": "me"}}, "uses the reserved prefix"),
        ({"tags": ["a"]}, "ecr-gitops:tags: expected a mapping"),
        ({"manifestTemplate": "../outside.yaml"}, "must be a relative path inside the project"),
        ({"gitAuthorEmail": "nobody"}, "ecr-gitops:gitAuthorEmail: 'nobody' is not valid"),
        ({"gitToken": "plaintext"}, "ecr-gitops:gitToken: must be stored as a secret"),
        ({"regoin": "us-east-1"}, "ecr-gitops:regoin: unknown key (did you mean 'region'?)"),
        ({"aws:region": "mars-1"}, "aws:region: 'mars-1' is not an AWS region with ECR"),
    ],
)
def test_bad_input_names_the_key(keys: dict[str, Any], expected: str) -> None:
    assert any(expected in line for line in problems(raw_config(**keys))), problems(raw_config(**keys))


def test_all_problems_are_reported_together() -> None:
    found = problems(
        raw_config(
            integrationName="Bad",
            region="nowhere-1",
            ecrAccess="scoped",
            sharedConfigBranch="-x",
            maxSessionDuration=1,
            tags={"aws:a": "b"},
        )
    )
    keys = {line.split(":", 2)[1] for line in found}
    assert {"integrationName", "region", "repositories", "sharedConfigBranch", "maxSessionDuration", "tags"} <= keys


def test_missing_template_is_reported() -> None:
    assert any("does not exist in the project" in p for p in problems(raw_config(manifestTemplate="t.yaml"), False))


def test_irsa_and_pod_identity_need_cluster_and_service_account() -> None:
    found = problems(raw_config(trustMode="irsa", trustedRoleArns=None, externalId="abc123"))
    assert any(p.startswith("ecr-gitops:eksClusterName: is required in irsa mode") for p in found)
    assert any(p.startswith("ecr-gitops:serviceAccount: is required in irsa mode") for p in found)
    assert any(p.startswith("ecr-gitops:externalId: is only used in role mode") for p in found)
    found = problems(raw_config(trustMode="pod-identity", trustedRoleArns=None, eksClusterName="c", serviceAccount="x"))
    assert any("'x' is not namespace/name" in p for p in found)


def test_pod_identity_config() -> None:
    cfg = parse(
        raw_config(trustMode="pod-identity", trustedRoleArns=None, eksClusterName="prod", serviceAccount="cf/app-proxy")
    ).integrations[0]
    assert cfg.trust.service_account is not None and cfg.trust.service_account.namespace == "cf"


def test_partition_follows_region() -> None:
    cfg = parse(
        raw_config(
            **{"aws:region": "cn-north-1"},
            trustedRoleArns=["arn:aws-cn:iam::123456789012:role/node"],
        )
    ).integrations[0]
    assert cfg.partition == "aws-cn"
    assert any("partition" in p for p in problems(raw_config(**{"aws:region": "us-east-1"}, region="us-gov-west-1")))


def test_integrations_list_with_flat_defaults() -> None:
    stack = parse(
        raw_config(
            integrationName=None,
            integrations=[
                {"integrationName": "a"},
                {"integrationName": "b", "trustMode": "irsa", "eksClusterName": "c", "serviceAccount": "n/s"},
            ],
            trustedRoleArns=None,
            eksClusterName="fallback",
            runtimes=["rt1"],
        )
    )
    a, b = stack.integrations
    assert a.trust.eks_cluster_name == "fallback" and a.gitops.runtimes == ("rt1",)
    assert b.trust.mode == "irsa" and b.trust.eks_cluster_name == "c"


def test_integration_items_are_labelled_with_their_index() -> None:
    found = problems(
        raw_config(
            integrationName=None,
            integrations=[{"integrationName": "a"}, {"integrationName": "a", "colour": "red"}, "x"],
        )
    )
    assert "ecr-gitops:integrations[1].colour: unknown key" in found
    assert any(p.startswith("ecr-gitops:integrations[2]: expected an object") for p in found)
    assert any(p.startswith("ecr-gitops:integrations[1].integrationName: 'a' is also used") for p in found)


def test_flat_default_problem_is_reported_once() -> None:
    found = problems(
        raw_config(
            integrationName=None, integrations=[{"integrationName": "a"}, {"integrationName": "b"}], region="x-1"
        )
    )
    assert sum("ecr-gitops:region:" in p for p in found) == 1


def test_derived_role_name_fits_iam_limit() -> None:
    long = derived_role_name("a" * 63, "production")
    assert len(long) <= 64 and long != derived_role_name("a" * 62 + "b", "production")
    assert derived_role_name("ecr", "dev") == "ecr-gitops-ecr-dev"


@pytest.mark.parametrize("branch", ["main", "release/2026-11", "env/prod"])
def test_valid_branch_names(branch: str) -> None:
    assert branch_problem(branch) is None


@pytest.mark.parametrize("branch", ["", "-x", "a..b", "a b", "x.lock", "a/", "a//b", "@", "a@{b", "a:b", "a~1"])
def test_invalid_branch_names(branch: str) -> None:
    assert branch_problem(branch) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "git@github.com:org/repo.git",
        "ssh://git@github.com/org/repo.git",
        "file:///srv/git/repo.git",
        "http://127.0.0.1:8080/repo.git",
        "git://localhost/repo.git",
    ],
)
def test_accepted_repo_urls(url: str) -> None:
    assert parse(raw_config(sharedConfigRepo=url)).integrations[0].gitops.repo_url == url
