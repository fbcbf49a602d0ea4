"""test-connection against moto server: the CLI, and a trust policy for the wrong principal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.connection import ConnectionTest, assume_via
from components.mockrun import run_program
from components.sandbox.apply import ApplyingMocks
from components.sandbox.emulator import Emulator, moto_server
from components.sandbox.run import seed
from components.sharedrepo import create_shared_config_repo
from components.stackfile import PROJECT_DIR
from tests.helpers import parse

NODE = "arn:aws:iam::123456789012:role/codefresh-runtime-node-role"
ADMIN = "arn:aws:iam::123456789012:user/sandbox-admin"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with moto_server("us-east-1") as running:
        yield running


def deploy(emulator: Emulator, tmp_path: Path, **keys: Any) -> tuple[dict[str, Any], ApplyingMocks]:
    """Seed the account and apply the real program, as the sandbox does; returns the config used."""
    url = create_shared_config_repo(tmp_path / "shared.git", [])
    config: dict[str, Any] = {
        "aws:region": "us-east-1",
        "ecr-gitops:integrationName": "ecr-ct",
        "ecr-gitops:trustedRoleArns": [NODE],
        "ecr-gitops:grantTrustedRoles": True,
        "ecr-gitops:sharedConfigRepo": url,
        **{f"ecr-gitops:{k}": v for k, v in keys.items()},
    }
    seed(emulator, parse(config))
    mocks = ApplyingMocks(emulator.session(), emulator.endpoint, "us-east-1")
    run_program(mocks, stack="ct", config=config)
    return config, mocks


def cli(
    emulator: Emulator, config: dict[str, Any], tmp_path: Path, *extra: str, credentials: bool = True
) -> subprocess.CompletedProcess[str]:
    """`python -m components test-connection` against the emulator, with or without its credentials."""
    path = tmp_path / "Pulumi.ct.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent", AWS_EC2_METADATA_DISABLED="true"
    )
    if credentials:
        env.update(AWS_ACCESS_KEY_ID=emulator.access_key, AWS_SECRET_ACCESS_KEY=emulator.secret_key)
    command = ["test-connection", "--config", str(path), "--endpoint-url", emulator.endpoint, *extra]
    return subprocess.run(
        [sys.executable, "-m", "components", *command],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_full_chain_passes(emulator: Emulator, tmp_path: Path) -> None:
    config, _ = deploy(emulator, tmp_path)
    result = cli(emulator, config, tmp_path, "--assume-via", NODE, "--json")
    document = json.loads(result.stdout)
    assert result.returncode == 0 and document["ok"], result.stdout + result.stderr
    assert [s["name"] for s in document["steps"]] == ["role", "registry", "assume-chain"]


def test_cli_without_chain_says_how_to_run_it(emulator: Emulator, tmp_path: Path) -> None:
    config, _ = deploy(emulator, tmp_path)
    result = cli(emulator, config, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "assume-chain not run: pass --assume-via" in result.stderr
    assert "✔ ecr-ct: role:" in result.stdout and "✔ ecr-ct: registry:" in result.stdout


def test_cli_reports_missing_role_as_wrong_account(emulator: Emulator, tmp_path: Path) -> None:
    config, mocks = deploy(emulator, tmp_path)
    assert mocks.teardown() == []
    result = cli(emulator, config, tmp_path)
    assert result.returncode == 1 and "not found in account 123456789012 (wrong account?)" in result.stdout


def test_cli_reports_missing_credentials(emulator: Emulator, tmp_path: Path) -> None:
    config, _ = deploy(emulator, tmp_path)
    result = cli(emulator, config, tmp_path, credentials=False)
    assert result.returncode == 1 and "no AWS credentials found" in result.stdout, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_trust_for_the_wrong_principal_fails_the_chain(emulator: Emulator, tmp_path: Path) -> None:
    other = "arn:aws:iam::123456789012:role/someone-else"
    config, _ = deploy(emulator, tmp_path, trustedRoleArns=[other])
    emulator.session().client("iam", endpoint_url=emulator.endpoint).create_role(
        RoleName="codefresh-runtime-node-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:user/sandbox-admin"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    cfg = parse(config, stack="ct").integrations[0]
    test = ConnectionTest(cfg, emulator.session(), emulator.endpoint, assume_timeout=0)
    node = assume_via(emulator.session(), NODE, emulator.endpoint, "us-east-1")
    step = test.check_chain(test.assumed_from(node))
    assert not step.ok and "cannot assume" in step.detail and "AccessDenied" in step.detail
    assert test.check_role().ok  # the deployed role itself matches its (wrong) configuration
