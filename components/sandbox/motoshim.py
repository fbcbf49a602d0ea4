"""moto server with two small, documented fixes for gaps that would deny what AWS allows.

1. Role-ARN principals in trust policies.
moto 5.2.5 compares a trust policy's `Principal.AWS` role ARN literally with the caller's
assumed-role session ARN (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`), so it denies what
AWS allows: a role session assuming a role whose trust policy names that role. This shim admits a
session when its role (same partition, account and role name) is named in the principal list,
and otherwise keeps moto's own answer. The product's trust policies are not changed to suit moto.

2. ECR resource ARNs. moto authorises every ECR call against Resource `*`, so a policy scoped to
repository ARNs (our `scoped` mode) is never matched. The shim tells moto the repository ARN named
in the request (`repositoryName`, or a single `repositoryNames` entry), as AWS evaluates it; calls
without one stay on `*`.

Run as ``python -m components.sandbox.motoshim <port>``.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from moto.ecr.responses import ECRResponse
from moto.iam import access_control
from moto.server import main as moto_main
from moto.utilities.utils import get_partition

_SESSION = re.compile(r"^arn:(?P<p>[\w-]+):sts::(?P<acct>\d{12}):assumed-role/(?P<role>[\w+=,.@-]+)/[^/]+$")
_ROLE = re.compile(r"^arn:(?P<p>[\w-]+):iam::(?P<acct>\d{12}):role/(?:.*/)?(?P<role>[\w+=,.@-]+)$")
_original = access_control.IAMPolicyStatement._check_principal


def session_matches_role(session_arn: str, role_arn: str) -> bool:
    session, role = _SESSION.match(session_arn), _ROLE.match(role_arn)
    return bool(session and role and session.group("p", "acct", "role") == role.group("p", "acct", "role"))


def _check_principal(self: Any, principal: str) -> bool:
    expected = (self._statement.get("Principal") or {}).get("AWS")
    if expected is None:  # moto would fail on `principal in None` for Service/Federated principals
        return False
    if _original(self, principal):
        return True
    candidates = expected if isinstance(expected, list) else [expected]
    return any(session_matches_role(principal, candidate) for candidate in candidates)


def _ecr_resource(self: Any) -> str:
    try:
        body = json.loads(self.body or "{}")
    except ValueError:
        return "*"
    names = body.get("repositoryNames") or []
    name = body.get("repositoryName") or (names[0] if len(names) == 1 else None)
    if not name:
        return "*"
    account = body.get("registryId") or self.current_account
    return f"arn:{get_partition(self.region)}:ecr:{self.region}:{account}:repository/{name}"


def main() -> None:
    access_control.IAMPolicyStatement._check_principal = _check_principal  # type: ignore[method-assign]
    ECRResponse._determine_resource = _ecr_resource  # type: ignore[attr-defined]
    moto_main(["-H", "127.0.0.1", "-p", sys.argv[1]])


if __name__ == "__main__":
    main()
