"""Stack configuration: the key contract, and its parsing into frozen objects.

Every problem is collected and reported together (one line per problem, naming the stack file and
the key) before the program registers a single resource. The same parser serves `pulumi up`
(config from the language host), `check` and `render` (config read from the stack file).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .regions import partition_of
from .urls import url_problem

PROJECT = "ecr-gitops"

# --- the key contract ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeySpec:
    """One config key: its Pulumi type (`Pulumi.yaml` `config:` block) and what it means."""

    type: str  # string | boolean | integer | array | object
    description: str
    default: str = "-"


#: Keys allowed flat (stack-wide defaults) and inside each `integrations` item.
ITEM_KEYS: dict[str, KeySpec] = {
    "integrationName": KeySpec(
        "string", "Codefresh integration name; a DNS-1123 label (lowercase, digits, '-', at most 63).", "required"
    ),
    "region": KeySpec("string", "ECR registry region; decides the AWS partition.", "`aws:region`"),
    "trustMode": KeySpec("string", "How the role is trusted: role | irsa | pod-identity.", "`role`"),
    "trustedRoleArns": KeySpec("array", "role mode: IAM role ARNs allowed to sts:AssumeRole the new role."),
    "eksClusterName": KeySpec(
        "string", "role mode: trust this EKS cluster's service role (looked up); irsa/pod-identity: the cluster."
    ),
    "serviceAccount": KeySpec("string", "irsa/pod-identity: the runtime's service account as namespace/name."),
    "externalId": KeySpec("string", "role mode: require this sts:ExternalId when assuming the role."),
    "grantTrustedRoles": KeySpec(
        "boolean", "Also give same-account trusted roles an inline sts:AssumeRole permission on the new role.", "false"
    ),
    "ecrAccess": KeySpec(
        "string",
        "readonly (AmazonEC2ContainerRegistryReadOnly) | pullonly (AmazonEC2ContainerRegistryPullOnly) | "
        "scoped (least-privilege inline policy).",
        "`readonly`",
    ),
    "repositories": KeySpec("array", "scoped: repository names or `prefix*` patterns the read actions are limited to."),
    "registryAccountId": KeySpec("string", "Account that owns the repositories.", "deploying account"),
    "runtimes": KeySpec(
        "array", "Codefresh runtimes to register the integration with; empty means all runtimes.", "[]"
    ),
    "sharedConfigRepo": KeySpec(
        "string", "Git URL of the Codefresh shared configuration repo (https, ssh or file); no credentials.", "required"
    ),
    "sharedConfigBranch": KeySpec("string", "Branch of the shared configuration repo to commit to.", "`main`"),
    "roleName": KeySpec("string", "IAM role name.", "`ecr-gitops-<integrationName>-<stack>`"),
    "rolePath": KeySpec("string", "IAM role path.", "`/`"),
    "permissionsBoundaryArn": KeySpec("string", "Permissions boundary policy ARN for the role."),
    "maxSessionDuration": KeySpec("integer", "Role maximum session duration in seconds (3600-43200).", "3600"),
    "tags": KeySpec("object", "Tags for the role (keys may not start with `aws:`).", "{}"),
    "manifestTemplate": KeySpec(
        "string", "Path (inside the project) of a YAML template for the integration manifest.", "built-in ConfigMap"
    ),
    "gitAuthorName": KeySpec("string", "Author name of the commits to the shared configuration repo.", "`ecr-gitops`"),
    "gitAuthorEmail": KeySpec(
        "string", "Author email of the commits to the shared configuration repo.", "`ecr-gitops@users.noreply.local`"
    ),
    "adoptExisting": KeySpec(
        "boolean", "Take over a manifest file that already exists and that no stack of this project owns.", "false"
    ),
}

#: Keys allowed only flat.
STACK_KEYS: dict[str, KeySpec] = {
    "integrations": KeySpec(
        "array", "Several integrations: a list of objects with the keys above (flat keys are defaults)."
    ),
    "gitToken": KeySpec(
        "string", "Secret HTTPS token for the shared configuration repo (or env ECR_GITOPS_GIT_TOKEN).", "-"
    ),
}

ALL_KEYS: dict[str, KeySpec] = {**ITEM_KEYS, **STACK_KEYS}

TRUST_MODES = ("role", "irsa", "pod-identity")
ECR_ACCESS_MODES = ("readonly", "pullonly", "scoped")
DEFAULT_AUTHOR_NAME = "ecr-gitops"
DEFAULT_AUTHOR_EMAIL = "ecr-gitops@users.noreply.local"


class Secret:
    """Placeholder for a secret value that the offline commands cannot (and need not) decrypt."""

    def __repr__(self) -> str:
        return "[secret]"


# --- parsed, frozen configuration ------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str


@dataclass(frozen=True)
class TrustSettings:
    mode: str
    trusted_role_arns: tuple[str, ...] = ()
    eks_cluster_name: str | None = None
    service_account: ServiceAccount | None = None
    external_id: str | None = None
    grant_trusted_roles: bool = False


@dataclass(frozen=True)
class AccessSettings:
    mode: str
    repositories: tuple[str, ...] = ()
    registry_account_id: str | None = None


@dataclass(frozen=True)
class RoleSettings:
    name: str
    path: str = "/"
    permissions_boundary_arn: str | None = None
    max_session_duration: int = 3600
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GitOpsSettings:
    repo_url: str
    branch: str = "main"
    runtimes: tuple[str, ...] = ()
    manifest_template: str | None = None
    author_name: str = DEFAULT_AUTHOR_NAME
    author_email: str = DEFAULT_AUTHOR_EMAIL
    adopt_existing: bool = False


@dataclass(frozen=True)
class IntegrationConfig:
    name: str
    region: str
    partition: str
    trust: TrustSettings
    access: AccessSettings
    role: RoleSettings
    gitops: GitOpsSettings


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    source: str
    integrations: tuple[IntegrationConfig, ...]


class ConfigError(Exception):
    """All problems of one stack's configuration, one line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


# --- validation primitives -----------------------------------------------------------------------

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
ROLE_PATH = re.compile(r"^/(?:[\x21-\x2e\x30-\x7e]+/)*$")
ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):role(?P<path>/(?:[\x21-\x2e\x30-\x7e]+/)*)(?P<name>[\w+=,.@-]{1,64})$"
)
POLICY_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?:aws|\d{12}):policy/(?:[\x21-\x2e\x30-\x7e]+/)*[\w+=,.@-]{1,128}$"
)
EKS_CLUSTER = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
REPOSITORY = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
REPOSITORY_PREFIX = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*(?:[a-z0-9]+(?:[._-][a-z0-9]+)*[._/-]?)?\*$")
EMAIL = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")


def branch_problem(branch: str) -> str | None:
    """Why ``branch`` is not a valid git branch name (the rules of `git check-ref-format --branch`)."""
    bad = (
        not branch
        or branch.startswith(("-", "/", "."))
        or branch.endswith(("/", ".", ".lock"))
        or branch == "@"
        or any(s in branch for s in ("..", "//", "@{", "/."))
        or any(c in branch for c in " ~^:?*[\\\x7f")
        or any(ord(c) < 32 for c in branch)
    )
    return f"{branch!r} is not a valid git branch name" if bad else None


def derived_role_name(integration: str, stack: str) -> str:
    """Role names are per stack so that two environments can share an account without colliding."""
    name = f"ecr-gitops-{integration}-{stack}"
    if len(name) <= 64 and ROLE_NAME.match(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    safe = re.sub(r"[^\w+=,.@-]", "-", name)
    return f"{safe[:55]}-{digest}"


# --- the parser ----------------------------------------------------------------------------------


@dataclass
class _Item:
    """Reads one integration's keys (item first, flat defaults second) and collects problems."""

    values: Mapping[str, Any]
    defaults: Mapping[str, Any]
    index: int | None
    problems: list[str]
    reported: set[str]

    def label(self, key: str) -> str:
        if self.index is not None and key in self.values:
            return f"{PROJECT}:integrations[{self.index}].{key}"
        return f"{PROJECT}:{key}"

    def problem(self, key: str, message: str) -> None:
        line = f"{self.label(key)}: {message}"
        if line not in self.reported:  # a bad flat default is reported once, not once per item
            self.reported.add(line)
            self.problems.append(line)

    def has(self, key: str) -> bool:
        return self.raw(key) is not None

    def raw(self, key: str) -> Any:
        return self.values[key] if key in self.values else self.defaults.get(key)

    def string(self, key: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str | None:
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, Secret):
            self.problem(key, "must not be a secret")
            return None
        if not isinstance(value, str) or not value:
            self.problem(key, f"expected a non-empty string, got {_show(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.problem(key, f"{value!r} is not valid{': ' + hint if hint else ''}")
            return None
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(key)
        if value is None:
            return default
        if value not in choices:
            self.problem(key, f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(key, f"expected true or false, got {_show(value)}")
            return False
        return value

    def integer(self, key: str, low: int, high: int, default: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"expected an integer, got {_show(value)}")
            return default
        if not low <= value <= high:
            self.problem(key, f"{value} is out of range {low}-{high}")
            return default
        return value

    def strings(self, key: str, check: Callable[[str], str | None]) -> tuple[str, ...]:
        """A list of strings, each checked by ``check`` (which returns a problem or None)."""
        value = self.raw(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(key, f"expected a list, got {_show(value)}")
            return ()
        good: list[str] = []
        for i, entry in enumerate(value):
            why = check(entry) if isinstance(entry, str) else f"expected a string, got {_show(entry)}"
            if why:
                self.problem(key, f"[{i}] {why}")
            elif entry in good:
                self.problem(key, f"[{i}] {entry!r} is listed twice")
            else:
                good.append(entry)
        return tuple(good)

    def forbid(self, key: str, why: str) -> None:
        if key in self.values or (key in self.defaults and self.index is None):
            self.problem(key, why)


def _show(value: Any) -> str:
    return json.dumps(value) if isinstance(value, (str, int, float, bool, list, dict)) else type(value).__name__


def _role_arn_problem(partition: str | None) -> Callable[[str], str | None]:
    def check(arn: str) -> str | None:
        match = ROLE_ARN.match(arn)
        if not match:
            return f"{arn!r} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)"
        if partition and match["partition"] != partition:
            return f"{arn!r} is in partition {match['partition']}, but the region is in {partition}"
        return None

    return check


def _repository_problem(name: str) -> str | None:
    if not 2 <= len(name) <= 256:
        return f"{name!r} must be 2-256 characters"
    if REPOSITORY.match(name) or REPOSITORY_PREFIX.match(name):
        return None
    return f"{name!r} is not an ECR repository name or `prefix*` pattern (lowercase, digits, ._-/)"


def _runtime_problem(name: str) -> str | None:
    return None if DNS_LABEL.match(name) else f"{name!r} is not a runtime name (a DNS-1123 label)"


def _parse_tags(item: _Item) -> tuple[tuple[str, str], ...]:
    value = item.raw("tags")
    if value is None:
        return ()
    if not isinstance(value, dict):
        item.problem("tags", f"expected a mapping of tag keys to values, got {_show(value)}")
        return ()
    if len(value) > 50:
        item.problem("tags", f"{len(value)} tags; IAM allows at most 50")
    tags: list[tuple[str, str]] = []
    for key, val in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            item.problem("tags", f"tag key {key!r} must be 1-128 characters")
        elif key.lower().startswith("aws:"):
            item.problem("tags", f"tag key {key!r} uses the reserved prefix 'aws:'")
        elif not isinstance(val, str) or len(val) > 256:
            item.problem("tags", f"tag {key!r}: value must be a string of at most 256 characters")
        else:
            tags.append((key, val))
    return tuple(sorted(tags))


def _parse_item(
    item: _Item, stack: str, deploy_region: str | None, template_exists: Callable[[str], bool]
) -> IntegrationConfig | None:
    name = item.string("integrationName", DNS_LABEL, "a DNS-1123 label: lowercase letters, digits and '-', at most 63")
    if not item.has("integrationName"):
        item.problem("integrationName", "is required")

    region = item.string("region") or deploy_region
    partition = None
    if region is None:
        item.problem("region", "is required (set it, or aws:region)")
    else:
        partition = partition_of(region)
        if partition is None:
            item.problem("region", f"{region!r} is not an AWS region with ECR")
        elif deploy_region and partition_of(deploy_region) not in (None, partition):
            item.problem("region", f"{region!r} is in partition {partition}, but aws:region {deploy_region!r} is not")

    trust = _parse_trust(item, partition)
    access = _parse_access(item)
    role = RoleSettings(
        name=item.string("roleName", ROLE_NAME, "1-64 characters of letters, digits and +=,.@_-")
        or derived_role_name(name or "integration", stack),
        path=item.string("rolePath", ROLE_PATH, "starts and ends with '/', printable ASCII") or "/",
        permissions_boundary_arn=_policy_arn(item, "permissionsBoundaryArn", partition),
        max_session_duration=item.integer("maxSessionDuration", 3600, 43200, 3600),
        tags=_parse_tags(item),
    )
    if len(role.path) > 512:
        item.problem("rolePath", "is longer than 512 characters")
    gitops = _parse_gitops(item, template_exists)
    if name is None or region is None or partition is None or gitops is None:
        return None
    return IntegrationConfig(name, region, partition, trust, access, role, gitops)


def _policy_arn(item: _Item, key: str, partition: str | None) -> str | None:
    arn = item.string(key, POLICY_ARN, "an IAM policy ARN (arn:<partition>:iam::<account>:policy/<name>)")
    if arn and partition and not arn.startswith(f"arn:{partition}:"):
        item.problem(key, f"{arn!r} is not in the region's partition {partition}")
    return arn


def _parse_trust(item: _Item, partition: str | None) -> TrustSettings:
    mode = item.choice("trustMode", TRUST_MODES, "role")
    arns = item.strings("trustedRoleArns", _role_arn_problem(partition))
    cluster = item.string("eksClusterName", EKS_CLUSTER, "an EKS cluster name (letters, digits, _-, at most 100)")
    external_id = item.string("externalId", EXTERNAL_ID, "2-1224 characters of letters, digits and +=,.@:/-")
    grant = item.boolean("grantTrustedRoles")
    service_account = None
    sa = item.string("serviceAccount")
    if sa is not None:
        ns, _, sa_name = sa.partition("/")
        if DNS_LABEL.match(ns) and DNS_SUBDOMAIN.match(sa_name):
            service_account = ServiceAccount(ns, sa_name)
        else:
            item.problem("serviceAccount", f"{sa!r} is not namespace/name (DNS-1123 names)")

    if mode == "role":
        if not item.has("trustedRoleArns") and not item.has("eksClusterName"):
            item.problem("trustedRoleArns", "role mode needs trustedRoleArns or eksClusterName (or both)")
        item.forbid("serviceAccount", "is only used in irsa and pod-identity modes")
        if grant and not item.has("trustedRoleArns") and not item.has("eksClusterName"):
            item.problem("grantTrustedRoles", "needs trustedRoleArns or eksClusterName")
    else:
        for key in ("eksClusterName", "serviceAccount"):
            if not item.has(key):
                item.problem(key, f"is required in {mode} mode")
        for key in ("trustedRoleArns", "externalId", "grantTrustedRoles"):
            item.forbid(key, f"is only used in role mode, not {mode}")
    return TrustSettings(mode, arns, cluster, service_account, external_id, grant)


def _parse_access(item: _Item) -> AccessSettings:
    mode = item.choice("ecrAccess", ECR_ACCESS_MODES, "readonly")
    repos = item.strings("repositories", _repository_problem)
    if mode == "scoped" and not repos and not any(p.startswith(item.label("repositories")) for p in item.problems):
        item.problem("repositories", "scoped access needs at least one repository or `prefix*` pattern")
    if mode != "scoped":
        item.forbid("repositories", "is only used with ecrAccess: scoped (managed policies cover every repository)")
    account = item.string("registryAccountId", ACCOUNT_ID, "a 12-digit AWS account ID")
    return AccessSettings(mode, repos, account)


def _parse_gitops(item: _Item, template_exists: Callable[[str], bool]) -> GitOpsSettings | None:
    url = item.string("sharedConfigRepo")
    if not item.has("sharedConfigRepo"):
        item.problem("sharedConfigRepo", "is required")
    elif url is not None and (why := url_problem(url)):
        item.problem("sharedConfigRepo", why)
        url = None
    branch = item.string("sharedConfigBranch") or "main"
    if why := branch_problem(branch):
        item.problem("sharedConfigBranch", why)
    runtimes = item.strings("runtimes", _runtime_problem)
    template = item.string("manifestTemplate")
    if template is not None:
        if template.startswith("/") or ".." in template.split("/") or "\\" in template:
            item.problem("manifestTemplate", f"{template!r} must be a relative path inside the project")
        elif not template_exists(template):
            item.problem("manifestTemplate", f"{template!r} does not exist in the project")
    author = item.string("gitAuthorName") or DEFAULT_AUTHOR_NAME
    if "\n" in author or "<" in author or ">" in author:
        item.problem("gitAuthorName", "must be a single line without '<' or '>'")
    email = item.string("gitAuthorEmail", EMAIL, "an email address") or DEFAULT_AUTHOR_EMAIL
    adopt = item.boolean("adoptExisting")
    if url is None:
        return None
    return GitOpsSettings(url, branch, runtimes, template, author, email, adopt)


def parse_config(
    raw: Mapping[str, Any],
    *,
    stack: str,
    source: str,
    template_exists: Callable[[str], bool],
    secret_keys: frozenset[str] = frozenset(),
) -> StackConfig:
    """Parse fully-qualified config (``ecr-gitops:key`` and ``aws:region``) into a StackConfig.

    Raises ConfigError listing every problem; never returns a partial configuration.
    """
    problems: list[str] = []
    flat: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.rpartition(":")
        if namespace in ("", PROJECT):
            if key not in ALL_KEYS:
                problems.append(f"{PROJECT}:{key}: unknown key{_suggest(key)}")
            else:
                flat[key] = value
    deploy_region = raw.get("aws:region")
    if deploy_region is not None and (not isinstance(deploy_region, str) or partition_of(deploy_region) is None):
        problems.append(f"aws:region: {deploy_region!r} is not an AWS region with ECR")
        deploy_region = None

    token_key = f"{PROJECT}:gitToken"
    if "gitToken" in flat and not isinstance(flat["gitToken"], Secret) and token_key not in secret_keys:
        problems.append(f"{token_key}: must be stored as a secret (pulumi config set --secret gitToken ...)")

    reported: set[str] = set()
    items_raw = flat.pop("integrations", None)
    defaults = {k: v for k, v in flat.items() if k in ITEM_KEYS}
    items: list[_Item] = []
    if items_raw is None:
        items.append(_Item({}, defaults, None, problems, reported))
    elif not isinstance(items_raw, list) or not items_raw:
        problems.append(f"{PROJECT}:integrations: expected a non-empty list of objects")
    else:
        for i, entry in enumerate(items_raw):
            if not isinstance(entry, dict):
                problems.append(f"{PROJECT}:integrations[{i}]: expected an object, got {_show(entry)}")
                continue
            for key in entry:
                if key not in ITEM_KEYS:
                    problems.append(f"{PROJECT}:integrations[{i}].{key}: unknown key{_suggest(str(key))}")
            items.append(_Item({k: v for k, v in entry.items() if k in ITEM_KEYS}, defaults, i, problems, reported))

    parsed: list[IntegrationConfig] = []
    for item in items:
        result = _parse_item(item, stack, deploy_region if isinstance(deploy_region, str) else None, template_exists)
        if result is not None:
            parsed.append(result)
    _check_unique(parsed, problems)
    if problems:
        raise ConfigError(source, problems)
    return StackConfig(PROJECT, stack, source, tuple(parsed))


def _check_unique(parsed: list[IntegrationConfig], problems: list[str]) -> None:
    """Names, role names and manifest files must not collide between integrations of one stack."""
    for attr, key in (("name", "integrationName"), ("role_name", "roleName")):
        seen: dict[str, int] = {}
        for i, cfg in enumerate(parsed):
            value = cfg.name if attr == "name" else cfg.role.name
            if value in seen:
                problems.append(
                    f"{PROJECT}:integrations[{i}].{key}: {value!r} is also used by integrations[{seen[value]}]"
                )
            seen.setdefault(value, i)


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, list(ALL_KEYS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
