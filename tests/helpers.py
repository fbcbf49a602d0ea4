"""Config builders shared by the tests."""

from __future__ import annotations

from typing import Any

from components.config import StackConfig, parse_config

NODE_ROLE = "arn:aws:iam::123456789012:role/eks-node-role"
SOURCE = "stacks/Pulumi.test.yaml"


def raw_config(**keys: Any) -> dict[str, Any]:
    """A valid single-integration config; keyword arguments override or (with None) remove keys."""
    raw: dict[str, Any] = {
        "aws:region": "us-east-1",
        "ecr-gitops:integrationName": "ecr",
        "ecr-gitops:trustedRoleArns": [NODE_ROLE],
        "ecr-gitops:sharedConfigRepo": "https://github.com/example/shared-config.git",
    }
    for key, value in keys.items():
        full = key if ":" in key else f"ecr-gitops:{key}"
        if value is None:
            raw.pop(full, None)
        else:
            raw[full] = value
    return raw


def parse(raw: dict[str, Any], template_exists: bool = True, stack: str = "test") -> StackConfig:
    return parse_config(raw, stack=stack, source=SOURCE, template_exists=lambda _: template_exists)
