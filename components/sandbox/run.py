"""`sandbox`: the whole flow on a laptop: emulator, seeded account, local repo, program, test, teardown."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.exceptions

from ..config import PROJECT, ROLE_ARN, IntegrationConfig, StackConfig, parse_config
from ..connection import ConnectionTest, RoleSessionSource, Step, assume_via, is_denied
from ..gitrepo import CACHE_ENV, Remote, read_tip
from ..manifest import manifest_path
from ..sharedrepo import create_shared_config_repo
from ..stackfile import PROJECT_DIR, StackFile
from ..urls import redact
from .emulator import SANDBOX_ACCOUNT, Emulator, moto_server
from .engines import Engine, MockRuntimeEngine, PulumiCliEngine

DEFAULT_REPOSITORY = "sandbox/app"
OUTSIDE_REPOSITORY = "outside-scope/other"
UNTRUSTED_ROLE = "sandbox-untrusted-principal"
ASSUME_ANY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
)


@dataclass
class SandboxResult:
    ok: bool = True
    steps: list[Step] = field(default_factory=list)
    role_arns: list[str] = field(default_factory=list)
    manifests: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "steps": [{"name": s.name, "ok": s.ok, "detail": s.detail} for s in self.steps],
            "roleArn": self.role_arns[0] if self.role_arns else "",
            "manifests": self.manifests,
        }


def _sandbox_config(stack_file: StackFile, repo_url: str) -> dict[str, Any]:
    """The stack's config with the repo replaced (items included) by the sandbox's repo."""
    config = dict(stack_file.config)
    config[f"{PROJECT}:sharedConfigRepo"] = repo_url
    items = config.get(f"{PROJECT}:integrations")
    if isinstance(items, list):
        config[f"{PROJECT}:integrations"] = [
            {k: v for k, v in item.items() if k != "sharedConfigRepo"} if isinstance(item, dict) else item
            for item in items
        ]
    return config


def _repositories(cfg: IntegrationConfig) -> list[str]:
    """One existing repository per name or pattern in scope (`team/*` -> `team/app`)."""
    return [entry.replace("*", "app") for entry in cfg.access.repositories] or [DEFAULT_REPOSITORY]


def seed(emulator: Emulator, stack: StackConfig) -> str:
    """Create what the stack expects to exist: trusted roles, EKS clusters, ECR repositories."""
    session = emulator.session()
    iam = session.client("iam", endpoint_url=emulator.endpoint)
    admin = session.client("sts", endpoint_url=emulator.endpoint).get_caller_identity()["Arn"]
    trust_admin = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": admin}, "Action": "sts:AssumeRole"}],
        }
    )
    iam.create_role(RoleName=UNTRUSTED_ROLE, AssumeRolePolicyDocument=trust_admin)
    iam.put_role_policy(RoleName=UNTRUSTED_ROLE, PolicyName="assume-any", PolicyDocument=ASSUME_ANY)
    created: list[str] = [UNTRUSTED_ROLE]
    for cfg in stack.integrations:
        for arn in cfg.trust.trusted_role_arns:
            match = ROLE_ARN.match(arn)
            if match and match["account"] == SANDBOX_ACCOUNT and match["name"] not in created:
                iam.create_role(RoleName=match["name"], Path=match["path"], AssumeRolePolicyDocument=trust_admin)
                created.append(match["name"])
        cluster = cfg.trust.eks_cluster_name
        if cluster and cluster not in created:
            role = iam.create_role(RoleName=f"{cluster}-cluster-role", AssumeRolePolicyDocument=trust_admin)["Role"]
            eks = session.client("eks", endpoint_url=emulator.endpoint, region_name=cfg.region)
            eks.create_cluster(name=cluster, roleArn=role["Arn"], resourcesVpcConfig={})
            created.append(cluster)
        ecr = session.client("ecr", endpoint_url=emulator.endpoint, region_name=cfg.region)
        for name in [*_repositories(cfg), OUTSIDE_REPOSITORY]:
            if name not in created:
                ecr.create_repository(repositoryName=name)
                created.append(name)
    return ", ".join(created)


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


class Sandbox:
    def __init__(
        self, stack_file: StackFile, repo_url: str | None, keep: bool, report: Callable[[Step], None], engine: str
    ) -> None:
        self.engine = engine
        self.stack_file = stack_file
        self.repo_url = repo_url
        self.keep = keep
        self.report = report
        self.result = SandboxResult()

    def step(self, name: str, action: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail, ok = action(), True
        except Exception as exc:
            detail, ok = redact(" ".join(f"{type(exc).__name__}: {exc}".split())), False
        step = Step(name, ok, f"{detail} ({time.monotonic() - started:.1f}s)")
        self.result.steps.append(step)
        self.result.ok &= ok
        self.report(step)
        return ok

    def run(self, workdir: Path) -> SandboxResult:
        url = self.repo_url or (workdir / "shared-config.git").as_uri()
        config = _sandbox_config(self.stack_file, url)
        stack = parse_config(
            config,
            stack=self.stack_file.stack,
            source=self.stack_file.source,
            template_exists=lambda p: (PROJECT_DIR / p).is_file(),
            secret_keys=self.stack_file.secret_keys,
        )
        region = stack.integrations[0].region
        with _env(CACHE_ENV, str(workdir / "git-cache")), moto_server(region) as emulator:
            self.step(
                "emulator", lambda: f"moto server at {emulator.endpoint}, IAM enforced, account {SANDBOX_ACCOUNT}"
            )
            if not self.step("seed", lambda: "created " + seed(emulator, stack)):
                return self.result
            if self.repo_url is None:
                runtimes = sorted({rt for cfg in stack.integrations for rt in cfg.gitops.runtimes})
                self.step(
                    "shared-config-repo",
                    lambda: f"{create_shared_config_repo(workdir / 'shared-config.git', runtimes)}",
                )
            engine: Engine = (
                PulumiCliEngine(emulator, workdir, self.stack_file.stack)
                if self.engine == "pulumi"
                else MockRuntimeEngine(emulator, region, self.stack_file.stack, self.stack_file.secret_keys)
            )
            if self.step(f"pulumi-program ({self.engine} engine)", lambda: self._up(engine, config)):
                for cfg in stack.integrations:
                    self._test_connection(emulator, cfg, workdir)
            if not self.keep:
                self.step("teardown", lambda: self._teardown(engine, emulator, stack))
        return self.result

    def _up(self, engine: Engine, config: dict[str, Any]) -> str:
        deployed = engine.up(config)
        self.result.role_arns, self.result.manifests = deployed.role_arns, deployed.manifests
        files = ", ".join(f"{m['path']}@{m['commit'][:10]}" for m in deployed.manifests)
        notes = "".join(f"; {note}" for note in deployed.notes)
        return f"roles {', '.join(deployed.role_arns)}; files {files}{notes}"

    def _test_connection(self, emulator: Emulator, cfg: IntegrationConfig, workdir: Path) -> None:
        """test-connection's steps, then what only a sandbox can afford to try: the wrong principal."""
        session = emulator.session()
        test = ConnectionTest(cfg, session, emulator.endpoint)
        obtain: RoleSessionSource | None = None
        if cfg.trust.mode == "role":
            principal = (
                cfg.trust.trusted_role_arns
                or (f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/{cfg.trust.eks_cluster_name}-cluster-role",)
            )[0]
            obtain = test.assumed_from(assume_via(session, principal, emulator.endpoint, cfg.region))
        elif cfg.trust.mode == "irsa":
            token = workdir / "service-account-token"
            token.write_text("sandbox-token-moto-does-not-verify")
            obtain = test.from_web_identity(token)
        for step in test.run(obtain):
            self.step(f"{cfg.name}: test-connection {step.name}", lambda s=step: self._passed(s))  # type: ignore[misc]
        if obtain is None:
            self.step(
                f"{cfg.name}: test-connection assume-chain",
                lambda: "not run: EKS Pod Identity sessions come from the EKS auth API, which moto does not emulate",
            )
            return
        if cfg.access.mode == "scoped":
            self.step(f"{cfg.name}: scope", lambda: self._outside_denied(test, obtain))
        if cfg.trust.mode == "role":
            self.step(f"{cfg.name}: untrusted principal", lambda: self._untrusted_refused(emulator, cfg))

    @staticmethod
    def _passed(step: Step) -> str:
        if not step.ok:
            raise AssertionError(step.detail)
        return step.detail

    @staticmethod
    def _outside_denied(test: ConnectionTest, obtain: RoleSessionSource) -> str:
        ecr = test.client("ecr", obtain())
        try:
            ecr.describe_images(repositoryName=OUTSIDE_REPOSITORY)
        except botocore.exceptions.ClientError as exc:
            if is_denied(exc):
                return f"reading {OUTSIDE_REPOSITORY} (outside repositories) is denied"
            raise
        raise AssertionError(f"the role could read {OUTSIDE_REPOSITORY}, which is outside its scope")

    @staticmethod
    def _untrusted_refused(emulator: Emulator, cfg: IntegrationConfig) -> str:
        """A role that may call sts:AssumeRole on anything, but that the trust policy does not name, is refused."""
        session = emulator.session()
        untrusted = assume_via(
            session, f"arn:aws:iam::{SANDBOX_ACCOUNT}:role/{UNTRUSTED_ROLE}", emulator.endpoint, cfg.region
        )
        test = ConnectionTest(cfg, session, emulator.endpoint, assume_timeout=0)
        step = test.check_chain(test.assumed_from(untrusted))
        if step.ok or "cannot assume" not in step.detail:
            raise AssertionError(f"{UNTRUSTED_ROLE} was not refused: {step.detail}")
        return f"{UNTRUSTED_ROLE} (allowed sts:AssumeRole on *, not in the trust policy) is refused"

    def _teardown(self, engine: Engine, emulator: Emulator, stack: StackConfig) -> str:
        failures = engine.destroy()
        if failures:
            raise RuntimeError("; ".join(failures))
        iam = emulator.session().client("iam", endpoint_url=emulator.endpoint)
        left: list[str] = []
        for cfg in stack.integrations:
            try:
                iam.get_role(RoleName=cfg.role.name)
                left.append(f"role {cfg.role.name}")
            except iam.exceptions.NoSuchEntityException:
                pass
            for arn in cfg.trust.trusted_role_arns:
                match = ROLE_ARN.match(arn)
                if match and iam.list_role_policies(RoleName=match["name"])["PolicyNames"]:
                    left.append(f"inline policy on {match['name']}")
            for runtime in cfg.gitops.runtimes or (None,):
                path = manifest_path(cfg.name, runtime)
                if read_tip(Remote(cfg.gitops.repo_url, cfg.gitops.branch), path)[0] is not None:
                    left.append(f"file {path}")
        if left:
            raise RuntimeError("left behind: " + ", ".join(left))
        return "removed manifests (with a commit), grants, attachments and roles; nothing left"


def run_sandbox(
    stack_file: StackFile,
    *,
    repo_url: str | None,
    keep: bool,
    report: Callable[[Step], None],
    engine: str = "mock",
) -> SandboxResult:
    workdir = Path(tempfile.mkdtemp(prefix="ecr-gitops-sandbox-"))
    result = Sandbox(stack_file, repo_url, keep, report, engine).run(workdir)
    if keep:
        report(Step("kept", True, f"work directory {workdir} (repo, git cache); the emulator stops with the process"))
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return result
