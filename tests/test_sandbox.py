"""The sandbox flow end to end: moto server (IAM enforced) and real git, started by the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.sharedrepo import create_shared_config_repo
from components.stackfile import PROJECT_DIR

NODE = "arn:aws:iam::123456789012:role/codefresh-runtime-node-role"


def sandbox(tmp_path: Path, config: dict[str, Any] | None, *extra: str) -> tuple[int, dict[str, Any]]:
    args = [sys.executable, "-m", "components", "sandbox", "--json", *extra]
    if config is not None:
        path = tmp_path / f"Pulumi.sb{len(list(tmp_path.glob('Pulumi.*')))}.yaml"
        path.write_text(yaml.safe_dump({"config": config}))
        args += ["--config", str(path)]
    result = subprocess.run(args, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def base(**keys: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "aws:region": "us-east-1",
        "ecr-gitops:integrationName": "ecr-sb",
        "ecr-gitops:trustedRoleArns": [NODE],
        "ecr-gitops:grantTrustedRoles": True,
        "ecr-gitops:sharedConfigRepo": "file:///unused.git",
    }
    config.update({f"ecr-gitops:{k}": v for k, v in keys.items()})
    return {k: v for k, v in config.items() if v is not None}


def steps(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in document["steps"]}


def test_default_sandbox_passes_and_tears_down(tmp_path: Path) -> None:
    code, document = sandbox(tmp_path, None)
    assert code == 0 and document["ok"] is True, document
    names = steps(document)
    assert names["ecr-sandbox: test-connection assume-chain"]["ok"]
    assert names["ecr-sandbox: scope"]["ok"] and "denied" in names["ecr-sandbox: scope"]["detail"]
    assert "is refused" in names["ecr-sandbox: untrusted principal"]["detail"]
    assert "nothing left" in names["teardown"]["detail"]
    assert document["roleArn"] == "arn:aws:iam::123456789012:role/ecr-gitops-ecr-sandbox-sandbox"
    assert [m["path"] for m in document["manifests"]] == ["resources/runtimes/sandbox-runtime/ecr-sandbox.yaml"]


@pytest.mark.parametrize("access", ["readonly", "pullonly"])
def test_managed_access_modes(tmp_path: Path, access: str) -> None:
    code, document = sandbox(tmp_path, base(ecrAccess=access, externalId="sandbox-ext-id"))
    assert code == 0 and document["ok"], document
    assert steps(document)["ecr-sb: test-connection assume-chain"]["ok"]


def test_caller_without_assume_permission_fails_the_chain(tmp_path: Path) -> None:
    """Same-account trust alone is not enough in the emulator: without grantTrustedRoles the chain is refused."""
    code, document = sandbox(tmp_path, base(grantTrustedRoles=False))
    chain = steps(document)["ecr-sb: test-connection assume-chain"]
    assert code != 0 and not document["ok"] and not chain["ok"] and "cannot assume" in chain["detail"]
    assert "nothing left" in steps(document)["teardown"]["detail"]


def eks_mode(mode: str) -> dict[str, Any]:
    return base(
        trustMode=mode, trustedRoleArns=None, grantTrustedRoles=None, eksClusterName="sb", serviceAccount="cf/app-proxy"
    )


def test_irsa_mode_runs_the_chain_through_web_identity(tmp_path: Path) -> None:
    code, document = sandbox(tmp_path, eks_mode("irsa"))
    assert code == 0 and document["ok"], document
    names = steps(document)
    assert "trusts only the configured principal" in names["ecr-sb: test-connection role"]["detail"]
    assert names["ecr-sb: test-connection assume-chain"]["detail"].startswith("assumed the role; token")


def test_pod_identity_mode_says_what_it_cannot_emulate(tmp_path: Path) -> None:
    code, document = sandbox(tmp_path, eks_mode("pod-identity"))
    assert code == 0 and document["ok"], document
    names = steps(document)
    assert "moto has no EKS Pod Identity API" in names["pulumi-program (mock engine)"]["detail"]
    assert names["ecr-sb: test-connection assume-chain"]["detail"].startswith("not run:")
    assert "nothing left" in names["teardown"]["detail"]


def test_role_mode_via_cluster_service_role(tmp_path: Path) -> None:
    code, document = sandbox(
        tmp_path, base(trustedRoleArns=None, eksClusterName="sb", ecrAccess="scoped", repositories=["team/*"])
    )
    assert code == 0 and document["ok"], document
    assert steps(document)["ecr-sb: scope"]["ok"]


def test_two_sandboxes_share_one_repo(tmp_path: Path) -> None:
    url = create_shared_config_repo(tmp_path / "shared.git", ["sandbox-runtime"])

    def run(name: str) -> tuple[int, dict[str, Any]]:
        folder = tmp_path / name
        folder.mkdir()
        return sandbox(folder, base(integrationName=name, runtimes=["sandbox-runtime"]), "--repo", url)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, ["ecr-one", "ecr-two"]))
    assert all(code == 0 and document["ok"] for code, document in results), results
    log = subprocess.run(
        ["git", "-C", str(tmp_path / "shared.git"), "log", "--format=%s", "main"], capture_output=True, text=True
    )
    assert log.stdout.count("ecr-gitops: create") == 2 and log.stdout.count("ecr-gitops: delete") == 2
    merges = subprocess.run(
        ["git", "-C", str(tmp_path / "shared.git"), "rev-list", "--merges", "main"], capture_output=True, text=True
    )
    assert merges.stdout == ""


def test_pulumi_engine_without_cli_is_a_clean_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = str(Path(sys.executable).parent) + ":/usr/bin:/bin"
    result = subprocess.run(
        [sys.executable, "-m", "components", "sandbox", "--engine", "pulumi"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "needs the Pulumi CLI" in result.stderr and "Traceback" not in result.stderr
