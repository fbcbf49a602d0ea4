"""The real `__main__.py` under the SDK's mock runtime: every mode, every shipped stack, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from parliament import analyze_policy_string

from components.config import ALL_KEYS
from components.mockrun import run_program
from components.render import RenderMocks, render
from components.stackfile import PROJECT_DIR, StackFile, load_stack_file
from tests.helpers import NODE_ROLE, parse, raw_config

STACK_FILES = sorted((PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))


def render_raw(raw: dict[str, Any]) -> dict[str, Any]:
    stack_file = StackFile("test", "stacks/Pulumi.test.yaml", raw, frozenset())
    return render(stack_file, parse(raw))


def only(document: dict[str, Any]) -> dict[str, Any]:
    items: list[dict[str, Any]] = document["integrations"]
    assert len(items) == 1
    return items[0]


def test_role_mode_readonly() -> None:
    item = only(render_raw(raw_config()))
    role = item["role"]
    assert role["name"] == "ecr-gitops-ecr-test" and role["path"] == "/"
    assert role["trustPolicy"]["Statement"][0]["Principal"] == {"AWS": [NODE_ROLE]}
    assert role["managedPolicyArns"] == ["arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"]
    assert role["inlinePolicies"] == {} and item["trustedRoleGrants"] == {}


def test_role_mode_with_cluster_lookup_and_grants() -> None:
    item = only(render_raw(raw_config(eksClusterName="prod", grantTrustedRoles=True, externalId="ext-123")))
    principals = item["role"]["trustPolicy"]["Statement"][0]["Principal"]["AWS"]
    assert principals == [
        "arn:aws:iam::123456789012:role/eks-node-role",
        "arn:aws:iam::123456789012:role/prod-cluster-service-role",
    ]
    assert set(item["trustedRoleGrants"]) == {"eks-node-role", "prod-cluster-service-role"}
    grant = item["trustedRoleGrants"]["eks-node-role"]["Statement"][0]
    assert grant["Resource"] == "arn:aws:iam::123456789012:role/ecr-gitops-ecr-test"


def test_grants_skip_roles_of_other_accounts() -> None:
    item = only(render_raw(raw_config(trustedRoleArns=["arn:aws:iam::999999999999:role/x"], grantTrustedRoles=True)))
    assert item["trustedRoleGrants"] == {}


def test_irsa_mode() -> None:
    item = only(
        render_raw(
            raw_config(trustMode="irsa", trustedRoleArns=None, eksClusterName="prod", serviceAccount="cf/app-proxy")
        )
    )
    statement = item["role"]["trustPolicy"]["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLEPROD" in statement["Principal"]["Federated"]
    assert item["podIdentityAssociations"] == []


def test_pod_identity_mode_registers_association() -> None:
    item = only(
        render_raw(
            raw_config(
                trustMode="pod-identity", trustedRoleArns=None, eksClusterName="prod", serviceAccount="cf/app-proxy"
            )
        )
    )
    assert item["role"]["trustPolicy"]["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert item["podIdentityAssociations"] == [
        {"clusterName": "prod", "namespace": "cf", "serviceAccount": "app-proxy"}
    ]


@pytest.mark.parametrize("mode", ["readonly", "pullonly"])
def test_managed_access_modes(mode: str) -> None:
    item = only(render_raw(raw_config(ecrAccess=mode)))
    assert [arn.rsplit("/", 1)[1] for arn in item["role"]["managedPolicyArns"]] == [
        {"readonly": "AmazonEC2ContainerRegistryReadOnly", "pullonly": "AmazonEC2ContainerRegistryPullOnly"}[mode]
    ]


def test_scoped_access_mode() -> None:
    item = only(render_raw(raw_config(ecrAccess="scoped", repositories=["apps/*"], region="eu-west-1")))
    assert item["role"]["managedPolicyArns"] == []
    doc = item["role"]["inlinePolicies"]["ecr-read-scoped"]
    assert doc["Statement"][1]["Resource"] == ["arn:aws:ecr:eu-west-1:123456789012:repository/apps/*"]


def test_role_settings_reach_the_role() -> None:
    item = only(
        render_raw(
            raw_config(
                roleName="custom",
                rolePath="/cf/",
                maxSessionDuration=7200,
                permissionsBoundaryArn="arn:aws:iam::123456789012:policy/boundary",
                tags={"team": "platform"},
            )
        )
    )
    role = item["role"]
    assert (role["name"], role["path"], role["maxSessionDuration"]) == ("custom", "/cf/", 7200)
    assert role["permissionsBoundary"] == "arn:aws:iam::123456789012:policy/boundary"
    assert role["tags"] == {"team": "platform"}


class CountingMocks(RenderMocks):
    def __init__(self) -> None:
        super().__init__("aws", "us-east-1")


def test_bad_config_fails_before_any_resource() -> None:
    mocks = CountingMocks()
    with pytest.raises(pulumi.RunError) as info:
        run_program(mocks, stack="dev", config=raw_config(region="nowhere-1", maxSessionDuration=5))
    message = str(info.value)
    assert "stacks/Pulumi.dev.yaml: ecr-gitops:region:" in message
    assert "stacks/Pulumi.dev.yaml: ecr-gitops:maxSessionDuration:" in message
    assert [r.typ for r in mocks.registrations if not r.typ.startswith("pulumi:")] == []


def test_runtime_config_strings_are_decoded() -> None:
    """The engine passes arrays, booleans and integers as JSON strings; the program must read them."""
    mocks = CountingMocks()
    run_program(
        mocks,
        stack="dev",
        config={k: v if isinstance(v, str) else json.dumps(v) for k, v in raw_config(maxSessionDuration=7200).items()},
    )
    role = next(r for r in mocks.registrations if r.typ == "aws:iam/role:Role")
    assert role.inputs["maxSessionDuration"] == 7200


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_every_shipped_stack_renders_and_lints_clean(path: Path) -> None:
    stack_file = load_stack_file(path)
    document = render(stack_file, parse_stack(stack_file))
    assert document["stack"] == stack_file.stack and document["integrations"]
    for item in document["integrations"]:
        docs = [*item["role"]["inlinePolicies"].values(), *item["trustedRoleGrants"].values()]
        for doc in docs:
            assert [f.issue for f in analyze_policy_string(json.dumps(doc)).findings] == []


def parse_stack(stack_file: StackFile) -> Any:
    from components.config import parse_config

    return parse_config(
        stack_file.config,
        stack=stack_file.stack,
        source=stack_file.source,
        template_exists=lambda p: (PROJECT_DIR / p).is_file(),
        secret_keys=stack_file.secret_keys,
    )


def test_pulumi_yaml_declares_every_key() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["name"] == "ecr-gitops" and project["stackConfigDir"] == "stacks"
    assert set(project["config"]) == set(ALL_KEYS)
    for key, spec in ALL_KEYS.items():
        declared = project["config"][key]
        assert declared["description"].startswith(spec.description)
        assert "default" not in declared  # defaults live in the parser so flat keys can default list items
        if spec.type in ("string", "boolean", "integer"):
            assert declared["type"] == spec.type


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components", *args], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )


def test_cli_check_valid_and_invalid(tmp_path: Path) -> None:
    ok = cli("check", "--stack", "dev")
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = tmp_path / "Pulumi.broken.yaml"
    bad.write_text(
        yaml.safe_dump(
            {"config": {"ecr-gitops:integrationName": "X", "ecr-gitops:trustMode": "nope", "aws:region": "us-east-1"}}
        )
    )
    result = cli("check", "--config", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(f"{bad}: ecr-gitops:") for line in lines)
    assert {line.split(": ")[1] for line in lines} >= {
        "ecr-gitops:integrationName",
        "ecr-gitops:trustMode",
        "ecr-gitops:sharedConfigRepo",
    }


def test_cli_check_unreadable_files(tmp_path: Path) -> None:
    assert cli("check", "--stack", "does-not-exist").returncode == 2
    broken = tmp_path / "Pulumi.x.yaml"
    broken.write_text("config: [unclosed")
    result = cli("check", "--config", str(broken))
    assert result.returncode == 2 and "not valid YAML" in result.stderr and "Traceback" not in result.stderr


def test_cli_render_json_shape() -> None:
    result = cli("render", "--stack", "prod")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == "prod"
    for item in document["integrations"]:
        assert {"name", "role", "manifests"} <= set(item)
        assert {
            "name",
            "path",
            "trustPolicy",
            "managedPolicyArns",
            "inlinePolicies",
            "permissionsBoundary",
            "maxSessionDuration",
        } <= set(item["role"])
        assert item["manifests"] and all(set(m) == {"path", "content"} for m in item["manifests"])
        assert all(yaml.safe_load(m["content"])["metadata"]["name"] == item["name"] for m in item["manifests"])


def test_cli_render_markdown() -> None:
    result = cli("render", "--stack", "prod", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "### Integration `ecr-prod-apps`" in result.stdout
    assert "sts:AssumeRoleWithWebIdentity" in result.stdout and "**Inline policy** `ecr-read-scoped`" in result.stdout


def test_cli_render_reports_bad_config_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": {"ecr-gitops:integrationName": "ok", "aws:region": "us-east-1"}}))
    result = cli("render", "--config", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "ecr-gitops:sharedConfigRepo: is required" in result.stderr


def test_render_fills_manifests_per_runtime() -> None:
    item = only(render_raw(raw_config(runtimes=["rt-a", "rt-b"], region="eu-west-1")))
    assert [m["path"] for m in item["manifests"]] == [
        "resources/runtimes/rt-a/ecr.yaml",
        "resources/runtimes/rt-b/ecr.yaml",
    ]
    document = yaml.safe_load(item["manifests"][0]["content"])
    assert document["data"]["iamRoleArn"] == "arn:aws:iam::123456789012:role/ecr-gitops-ecr-test"
    assert document["metadata"]["annotations"]["ecr-gitops/pulumi-stack"] == "test"
    all_runtimes = only(render_raw(raw_config()))
    assert [m["path"] for m in all_runtimes["manifests"]] == ["resources/all-runtimes-all-clusters/ecr.yaml"]


def test_readme_documents_every_config_key_and_output() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    for key, spec in ALL_KEYS.items():
        assert f"| `{key}` | {spec.type} |" in readme, key
    for output in (
        "`roleArn`, `roleName`",
        "`trustMode`",
        "`managedPolicyArns`",
        "`inlinePolicies`",
        "`repoUrl`",
        "`manifests`",
    ):
        assert f"| {output} |" in readme, output


def test_a_cluster_shared_by_integrations_is_looked_up_once() -> None:
    class CountingCalls(RenderMocks):
        def __init__(self) -> None:
            super().__init__("aws", "us-east-1")
            self.tokens: list[str] = []

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
            self.tokens.append(args.token)
            return super().call(args)

    stack_file = load_stack_file(PROJECT_DIR / "stacks" / "Pulumi.prod.yaml")  # two integrations, one cluster
    mocks = CountingCalls()
    run_program(mocks, stack="prod", config=stack_file.config)
    assert mocks.tokens.count("aws:eks/getCluster:getCluster") == 1
