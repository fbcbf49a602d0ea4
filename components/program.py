"""The Pulumi program: read the stack config, look up facts, declare one integration per item.

`__main__.py` calls `main()`; so do `render` and `sandbox`, under the SDK's mock runtime.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from .config import ALL_KEYS, PROJECT, ConfigError, StackConfig, parse_config
from .integration import EcrGitOpsIntegration, plan_manifests
from .manifest import ManifestError
from .policies import ClusterFacts
from .stackfile import PROJECT_DIR


def _decode(key: str, value: Any) -> Any:
    """The engine hands structured config values over as JSON strings; decode those we type."""
    namespace, _, short = key.rpartition(":")
    spec = ALL_KEYS.get(short) if namespace in ("", PROJECT) else None
    if spec is None or spec.type == "string" or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # reported by the parser as a type problem


def load_config() -> StackConfig:
    """Parse the running stack's config, as the language host or the mock runtime provides it."""
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {k for k in raw if runtime_config.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    stack = pulumi.get_stack()
    return parse_config(
        {k: _decode(k, v) for k, v in raw.items()},
        stack=stack,
        source=f"stacks/Pulumi.{stack}.yaml",
        template_exists=lambda path: (PROJECT_DIR / path).is_file(),
        secret_keys=frozenset(secret_keys),
    )


def lookup_cluster(name: str) -> ClusterFacts:
    cluster = aws.eks.get_cluster(name=name)
    issuer = None
    for identity in cluster.identities or []:
        for oidc in identity.oidcs or []:
            issuer = oidc.issuer or issuer
    return ClusterFacts(name=name, role_arn=cluster.role_arn, oidc_issuer=issuer)


def main() -> None:
    try:
        stack_config = load_config()
    except ConfigError as exc:
        raise pulumi.RunError(f"invalid configuration ({len(exc.problems)} problems):\n{exc}") from None
    account_id = aws.get_caller_identity().account_id
    planned, problems = {}, []
    for index, cfg in enumerate(stack_config.integrations):
        try:
            planned[cfg.name] = plan_manifests(cfg, stack=stack_config.stack, account_id=account_id)
        except ManifestError as exc:
            where = "" if len(stack_config.integrations) == 1 else f"integrations[{index}]."
            problems.append(f"{stack_config.source}: {PROJECT}:{where}manifestTemplate: {exc}")
    if problems:
        raise pulumi.RunError("invalid manifest template:\n" + "\n".join(problems))
    clusters = {
        name: lookup_cluster(name) for name in {c.trust.eks_cluster_name for c in stack_config.integrations} if name
    }
    exports: dict[str, Any] = {}
    for cfg in stack_config.integrations:
        integration = EcrGitOpsIntegration(
            cfg.name,
            cfg,
            stack=stack_config.stack,
            account_id=account_id,
            cluster=clusters.get(cfg.trust.eks_cluster_name or ""),
            manifests=planned[cfg.name],
        )
        exports[cfg.name] = integration.exports
    pulumi.export("integrations", exports)
