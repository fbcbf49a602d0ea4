"""`test-connection`: the Codefresh UI's "Test connection" button, with boto3 and the caller's credentials."""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

from . import iam_actions, policies
from .config import IntegrationConfig

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
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url')} (wrong region or endpoint?)"
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
    return str(exc)


def is_denied(exc: botocore.exceptions.ClientError) -> bool:
    """AWS says AccessDenied(Exception); an emulator may only answer HTTP 403."""
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("AccessDeniedException", "AccessDenied", "403") or status == 403


def _session(credentials: dict[str, Any], region: str) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


#: How the chain obtains a session of the integration role (assumed, or from a web identity).
RoleSessionSource = Callable[[], boto3.Session]


class ConnectionTest:
    """The checks for one integration, each reported as a Step with a one-line reason."""

    def __init__(
        self,
        cfg: IntegrationConfig,
        session: boto3.Session,
        endpoint_url: str | None = None,
        assume_timeout: float = ASSUME_RETRY_SECONDS,
    ) -> None:
        self.cfg = cfg
        self.session = session
        self.endpoint_url = endpoint_url
        self.assume_timeout = assume_timeout

    def client(self, service: str, session: boto3.Session | None = None) -> Any:
        return (session or self.session).client(service, endpoint_url=self.endpoint_url, region_name=self.cfg.region)

    @functools.cached_property
    def account_id(self) -> str:
        """The caller's account (asked once: role_arn, the role check and the chain all need it)."""
        return str(self.client("sts").get_caller_identity()["Account"])

    def role_arn(self) -> str:
        return policies.role_arn(
            partition=self.cfg.partition, account_id=self.account_id, path=self.cfg.role.path, name=self.cfg.role.name
        )

    def expected_trust(self, account_id: str) -> dict[str, Any]:
        cluster = None
        if self.cfg.trust.eks_cluster_name:
            cluster = policies.cluster_facts(
                self.client("eks").describe_cluster(name=self.cfg.trust.eks_cluster_name)["cluster"]
            )
        document = policies.trust_policy(
            self.cfg.trust, partition=self.cfg.partition, account_id=account_id, cluster=cluster
        )
        statement = document["Statement"][0]
        return {key: statement.get(key) for key in ("Principal", "Action", "Condition")}

    def _policy_documents(self) -> list[dict[str, Any]]:
        iam = self.client("iam")
        name = self.cfg.role.name
        documents = [
            iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
        ]
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
            documents.append(version["PolicyVersion"]["Document"])
        return [json.loads(d) if isinstance(d, str) else d for d in documents]

    def check_role(self) -> Step:
        """The role exists; its trust admits exactly the configured principal(s); ECR read, no ECR write."""
        try:
            account = self.account_id
            iam = self.client("iam")
            try:
                role = iam.get_role(RoleName=self.cfg.role.name)["Role"]
            except iam.exceptions.NoSuchEntityException:
                return Step("role", False, f"role {self.cfg.role.name} not found in account {account} (wrong account?)")
            trust = role["AssumeRolePolicyDocument"]
            statements = (json.loads(trust) if isinstance(trust, str) else trust).get("Statement", [])
            expected = self.expected_trust(account)
            actual = [{key: s.get(key) for key in expected} for s in statements]
            if actual != [expected]:
                return Step("role", False, f"trust policy {json.dumps(statements)} is not {json.dumps(expected)}")
            documents = self._policy_documents()
        except Exception as exc:
            return Step("role", False, _error(exc))
        allowed = iam_actions.allowed_actions(documents)
        missing = [a for a in iam_actions.ECR_READ_REQUIRED if not iam_actions.grants(allowed, a)]
        writes = iam_actions.write_actions(documents)
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

    def assumed_from(self, caller: boto3.Session) -> RoleSessionSource:
        """AssumeRole from ``caller``, retried with backoff while IAM is eventually consistent."""

        def obtain() -> boto3.Session:
            kwargs: dict[str, Any] = {"RoleArn": self.role_arn(), "RoleSessionName": "ecr-gitops-test-connection"}
            if self.cfg.trust.external_id:
                kwargs["ExternalId"] = self.cfg.trust.external_id
            sts = self.client("sts", caller)
            deadline, delay = time.monotonic() + self.assume_timeout, 0.5
            while True:
                try:
                    return _session(sts.assume_role(**kwargs)["Credentials"], self.cfg.region)
                except botocore.exceptions.ClientError:
                    if time.monotonic() + delay > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)

        return obtain

    def from_web_identity(self, token_file: Path) -> RoleSessionSource:
        """AssumeRoleWithWebIdentity with a service-account token (IRSA), as the pod's SDK would."""

        def obtain() -> boto3.Session:
            response = self.client("sts").assume_role_with_web_identity(
                RoleArn=self.role_arn(),
                RoleSessionName="ecr-gitops-test-connection",
                WebIdentityToken=token_file.read_text().strip(),
            )
            return _session(response["Credentials"], self.cfg.region)

        return obtain

    def repository_in_scope(self) -> list[str]:
        """Scoped mode: one repository the role may describe (a listed name, or an existing match of a pattern)."""
        patterns = self.cfg.access.repositories
        if not patterns:
            return []
        names = [p for p in patterns if "*" not in p]
        if not names:
            existing = [r["repositoryName"] for r in self.client("ecr").describe_repositories()["repositories"]]
            names = [n for n in existing if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
        if not names:
            raise LookupError(f"no existing repository matches {', '.join(patterns)}")
        return names[:1]

    def check_chain(self, obtain: RoleSessionSource) -> Step:
        """As the integration role: token and reads allowed, a write denied."""
        try:
            role_session = obtain()
        except Exception as exc:
            return Step("assume-chain", False, f"cannot assume {self.cfg.role.name}: {_error(exc)}")
        ecr = self.client("ecr", role_session)
        try:
            ecr.get_authorization_token()
            read = "token"
            if self.cfg.access.mode != "pullonly":  # AmazonEC2ContainerRegistryPullOnly has no Describe actions
                names = self.repository_in_scope()
                ecr.describe_repositories(**({"repositoryNames": names} if names else {}))
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

    def run(self, obtain: RoleSessionSource | None) -> list[Step]:
        steps = [self.check_role(), self.check_registry()]
        if obtain is not None:
            steps.append(self.check_chain(obtain))
        return steps


def assume_via(session: boto3.Session, role_arn: str, endpoint_url: str | None, region: str) -> boto3.Session:
    """A session of ``role_arn`` (the trusted principal), assumed with the caller's credentials."""
    sts = session.client("sts", endpoint_url=endpoint_url, region_name=region)
    return _session(
        sts.assume_role(RoleArn=role_arn, RoleSessionName="ecr-gitops-trusted-principal")["Credentials"], region
    )


def chain_source(
    test: ConnectionTest, assume_via_arn: str | None, token_file: Path | None
) -> tuple[RoleSessionSource | None, str]:
    """How to obtain the integration role for the chain, from the options and who the caller is."""
    cfg = test.cfg
    try:
        if assume_via_arn:
            return test.assumed_from(assume_via(test.session, assume_via_arn, test.endpoint_url, cfg.region)), ""
        caller = str(test.client("sts").get_caller_identity()["Arn"])
        role_arn = test.role_arn()
    except Exception as exc:
        return None, _error(exc)
    if policies.is_session_of(caller, role_arn):  # inside a pod: already the integration role
        return (lambda: test.session), ""
    if cfg.trust.mode == "role" and any(policies.is_session_of(caller, arn) for arn in cfg.trust.trusted_role_arns):
        return test.assumed_from(test.session), ""
    if cfg.trust.mode == "irsa" and token_file:
        return test.from_web_identity(Path(token_file)), ""
    hint = {
        "role": "pass --assume-via <trusted role ARN>, or run as a trusted role",
        "irsa": "pass --web-identity-token-file, or run in the runtime's pod",
        "pod-identity": "run in the runtime's pod (EKS Pod Identity issues the session)",
    }
    return None, hint[cfg.trust.mode]
