"""How the sandbox deploys: the SDK mock runtime applying for real (default), or the Pulumi CLI.

Both deploy the same `__main__.py` with the same config and report the same facts, so the rest of
the sandbox (test-connection, leftovers check) does not care which one ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from ..mockrun import run_program
from ..stackfile import PROJECT_DIR
from .apply import ApplyingMocks
from .emulator import Emulator


@dataclass
class Deployed:
    role_arns: list[str] = field(default_factory=list)
    manifests: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Engine(Protocol):
    def up(self, config: dict[str, Any]) -> Deployed: ...

    def destroy(self) -> list[str]:
        """Tear down; returns what could not be removed."""
        ...


class MockRuntimeEngine:
    """The program under the SDK's mock monitor, each registration applied with boto3 / the git provider."""

    def __init__(self, emulator: Emulator, region: str, stack: str, secret_keys: frozenset[str]) -> None:
        self.mocks = ApplyingMocks(emulator.session(), emulator.endpoint, region)
        self.stack = stack
        self.secret_keys = secret_keys

    def up(self, config: dict[str, Any]) -> Deployed:
        run_program(self.mocks, stack=self.stack, config=config, secret_keys=self.secret_keys)
        deployed = Deployed()
        for applied in self.mocks.applied:
            if applied.typ == "aws:iam/role:Role":
                deployed.role_arns.append(applied.outputs["arn"])
            elif "commit" in applied.outputs:
                deployed.manifests.append({"path": applied.outputs["path"], "commit": applied.outputs["commit"]})
            if applied.note:
                deployed.notes.append(f"{applied.name}: {applied.note}")
        deployed.role_arns.sort()  # registrations arrive concurrently: report in a stable order
        deployed.manifests.sort(key=lambda m: m["path"])
        return deployed

    def destroy(self) -> list[str]:
        return self.mocks.teardown()


class PulumiCliEngine:
    """`pulumi up` / `pulumi destroy` with a local file backend, the AWS provider pointed at the emulator.

    Not exercised where this project is built (no Pulumi CLI can be installed there); kept to the
    commands a user would type, so that it has little room to be wrong.
    """

    def __init__(self, emulator: Emulator, workdir: Path, stack: str) -> None:
        if shutil.which("pulumi") is None:
            raise RuntimeError("--engine pulumi needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/)")
        self.emulator = emulator
        self.stack = f"sandbox-{workdir.name}"
        self.config_file = workdir / f"Pulumi.{self.stack}.yaml"
        (workdir / "state").mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "PULUMI_BACKEND_URL": (workdir / "state").as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "sandbox",
            "AWS_ACCESS_KEY_ID": emulator.access_key,
            "AWS_SECRET_ACCESS_KEY": emulator.secret_key,
        }

    def _pulumi(self, *args: str) -> str:
        command = ["pulumi", *args, "--stack", self.stack, "--non-interactive", "--config-file", str(self.config_file)]
        result = subprocess.run(command, cwd=PROJECT_DIR, env=self.env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pulumi {args[0]} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        return result.stdout

    def up(self, config: dict[str, Any]) -> Deployed:
        endpoint = self.emulator.endpoint
        provider = {
            "aws:endpoints": [{service: endpoint for service in ("iam", "sts", "eks", "ecr")}],
            "aws:skipCredentialsValidation": True,
            "aws:skipRegionValidation": True,
        }
        self.config_file.write_text(yaml.safe_dump({"config": {**config, **provider}}))
        subprocess.run(
            ["pulumi", "stack", "init", self.stack, "--non-interactive"], cwd=PROJECT_DIR, env=self.env, check=False
        )
        self._pulumi("up", "--yes", "--skip-preview")
        outputs = json.loads(self._pulumi("stack", "output", "integrations", "--json"))
        deployed = Deployed()
        for integration in outputs.values():
            deployed.role_arns.append(integration["roleArn"])
            deployed.manifests += integration["manifests"]
        return deployed

    def destroy(self) -> list[str]:
        try:
            self._pulumi("destroy", "--yes", "--skip-preview")
            self._pulumi("stack", "rm", "--yes")
        except RuntimeError as exc:
            return [str(exc)]
        return []
