"""`test-connection`: the Codefresh UI's "Test connection" button, with boto3 and the caller's credentials."""

from __future__ import annotations

import fnmatch
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions

from . import policies
from .config import IntegrationConfig

READ_ACTIONS = ("ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
WRITE_ACTIONS = (
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "ecr:BatchDeleteImage",
    "ecr:SetRepositoryPolicy",
    "ecr:PutLifecyclePolicy",
)
ASSUME_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    detail: str


def _error(exc: Exception) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        message = str(error.get("Message") or "")
        inner = re.search(r"<Code>(.*?)</Code><Message>(.*?)</Message>", message)  # emulators wrap XML in JSON errors
        return f"{inner[1]}: {inner[2]}" if inner else f"{error.get('Code')}: {message}"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    return str(exc)


def is_denied(exc: botocore.exceptions.ClientError) -> bool:
    """AWS says AccessDenied(Exception); an emulator may only answer HTTP 403."""
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("AccessDeniedException", "AccessDenied", "403") or status == 403


def _allowed_actions(documents: Iterable[dict[str, Any]]) -> list[str]:
    actions: list[str] = []
    for document in documents:
        for statement in document.get("Statement", []):
            if statement.get("Effect") == "Allow":
                value = statement.get("Action", [])
                actions += value if isinstance(value, list) else [value]
    return actions


def _grants(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


class ConnectionTest:
    """The three checks for one integration, each reported as a Step."""

    def __init__(self, cfg: IntegrationConfig, session: boto3.Session, endpoint_url: str | None = None) -> None:
        self.cfg = cfg
        self.session = session
        self.endpoint_url = endpoint_url

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        return (session or self.session).client(service, endpoint_url=self.endpoint_url, region_name=self.cfg.region)

    def expected_principals(self, account_id: str) -> dict[str, Any]:
        cluster = None
        if self.cfg.trust.eks_cluster_name:
            found = self.client("eks").describe_cluster(name=self.cfg.trust.eks_cluster_name)["cluster"]
            issuer = found.get("identity", {}).get("oidc", {}).get("issuer")
            cluster = policies.ClusterFacts(found["name"], found["roleArn"], issuer)
        document = policies.trust_policy(
            self.cfg.trust, partition=self.cfg.partition, account_id=account_id, cluster=cluster
        )
        return {"Principal": document["Statement"][0]["Principal"], "Action": document["Statement"][0]["Action"]}

    def check_role(self) -> Step:
        iam = self.client("iam")
        try:
            account = self.client("sts").get_caller_identity()["Account"]
            role = iam.get_role(RoleName=self.cfg.role.name)["Role"]
            trust = role["AssumeRolePolicyDocument"]
            trust = json.loads(trust) if isinstance(trust, str) else trust
            statements = trust.get("Statement", [])
            expected = self.expected_principals(account)
            if len(statements) != 1 or {k: statements[0].get(k) for k in expected} != expected:
                return Step("role", False, f"trust policy does not match the configuration: {json.dumps(statements)}")
            documents = [
                iam.get_role_policy(RoleName=self.cfg.role.name, PolicyName=name)["PolicyDocument"]
                for name in iam.list_role_policies(RoleName=self.cfg.role.name)["PolicyNames"]
            ]
            for attached in iam.list_attached_role_policies(RoleName=self.cfg.role.name)["AttachedPolicies"]:
                policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
                version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
                documents.append(version["PolicyVersion"]["Document"])
        except Exception as exc:
            return Step("role", False, _error(exc))
        documents = [json.loads(d) if isinstance(d, str) else d for d in documents]
        allowed = _allowed_actions(documents)
        missing = [a for a in READ_ACTIONS if not _grants(allowed, a)]
        writes = [a for a in WRITE_ACTIONS if _grants(allowed, a)]
        if missing or writes:
            return Step("role", False, f"missing read actions {missing}; granted write actions {writes}")
        return Step("role", True, f"{role['Arn']} trusts only the configured principal(s); ECR read, no ECR write")

    def check_registry(self) -> Step:
        try:
            ecr = self.client("ecr")
            registry = ecr.describe_registry()["registryId"]
            count = len(ecr.describe_repositories()["repositories"])
        except Exception as exc:
            return Step("registry", False, f"ECR in {self.cfg.region}: {_error(exc)}")
        return Step("registry", True, f"registry {registry} in {self.cfg.region} answers ({count} repositories)")

    def assume(self, caller: boto3.Session) -> boto3.Session:
        """Assume the integration role from ``caller``, retrying while IAM is eventually consistent."""
        sts = self.client("sts", caller)
        arn = policies.role_arn(
            partition=self.cfg.partition,
            account_id=sts.get_caller_identity()["Account"],
            path=self.cfg.role.path,
            name=self.cfg.role.name,
        )
        kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": "ecr-gitops-test-connection"}
        if self.cfg.trust.external_id:
            kwargs["ExternalId"] = self.cfg.trust.external_id
        deadline, delay = time.monotonic() + ASSUME_RETRY_SECONDS, 0.5
        while True:
            try:
                creds = sts.assume_role(**kwargs)["Credentials"]
                break
            except botocore.exceptions.ClientError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.cfg.region,
        )

    def check_chain(self, caller: boto3.Session) -> Step:
        try:
            role_session = self.assume(caller)
        except Exception as exc:
            return Step("assume-chain", False, f"cannot assume {self.cfg.role.name}: {_error(exc)}")
        ecr = self.client("ecr", role_session)
        try:
            ecr.get_authorization_token()
            read = "token"
            if self.cfg.access.mode != "pullonly":  # AmazonEC2ContainerRegistryPullOnly has no Describe actions
                names = [r for r in self.cfg.access.repositories if "*" not in r]
                ecr.describe_repositories(**({"repositoryNames": names[:1]} if names else {}))
                read = "token and DescribeRepositories"
        except Exception as exc:
            return Step("assume-chain", False, f"assumed the role, but ECR read failed: {_error(exc)}")
        probe = f"ecr-gitops-write-probe-{uuid.uuid4().hex[:8]}"
        try:
            ecr.create_repository(repositoryName=probe)
        except botocore.exceptions.ClientError as exc:
            if is_denied(exc):
                return Step("assume-chain", True, f"assumed the role; {read} allowed; write denied")
            return Step("assume-chain", False, f"write probe failed unexpectedly: {_error(exc)}")
        self.client("ecr").delete_repository(repositoryName=probe, force=True)
        return Step("assume-chain", False, "the role could create an ECR repository: it has write access")

    def run(self, caller: boto3.Session | None) -> list[Step]:
        steps = [self.check_role(), self.check_registry()]
        if caller is not None:
            steps.append(self.check_chain(caller))
        return steps


def assume_via(session: boto3.Session, role_arn: str, endpoint_url: str | None, region: str) -> boto3.Session:
    """A session of ``role_arn`` (the trusted principal), assumed with the caller's credentials."""
    creds = session.client("sts", endpoint_url=endpoint_url, region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName="ecr-gitops-trusted-principal"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )
