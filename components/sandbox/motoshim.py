"""moto server with four small, documented fixes for gaps that would deny what AWS allows.

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

3. Signatures of body-less REST calls. For a GET/HEAD/DELETE without a body (EKS DescribeCluster,
ListClusters), moto 5.2.5 signs its copy of the request with the parsed request data (here: the
headers) as the body, so the signature never matches and IAM enforcement refuses every such call.
The shim signs an empty body, as the client did.

4. Unsigned STS AssumeRoleWithWebIdentity (IRSA). AWS does not sign this call (the web identity
token is the credential); moto's enforcement demands a signature and fails with a server error. The
shim lets it through unauthenticated, as AWS does. moto then issues the session without checking
the token or the trust policy's conditions: the sandbox checks the trust document itself.

Run as ``python -m components.sandbox.motoshim <port>``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from botocore.awsrequest import AWSRequest
from moto.core.authorization import ActionAuthenticatorMixin
from moto.ecr.responses import ECRResponse
from moto.iam import access_control
from moto.server import main as moto_main
from moto.utilities.utils import get_partition

from components.policies import is_session_of

_original = access_control.IAMPolicyStatement._check_principal


def _check_principal(self: Any, principal: str) -> bool:
    expected = (self._statement.get("Principal") or {}).get("AWS")
    if expected is None:  # moto would fail on `principal in None` for Service/Federated principals
        return False
    if _original(self, principal):
        return True
    candidates = expected if isinstance(expected, list) else [expected]
    return any(is_session_of(principal, candidate) for candidate in candidates)


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


def _create_aws_request(self: Any) -> AWSRequest:
    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    bodyless = self._method in ("GET", "HEAD", "DELETE") and not self._body
    request = AWSRequest(
        method=self._method, url=self._path, data=b"" if bodyless else (self._body or self._data), headers=headers
    )
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authenticate_and_authorize_action(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    if self._get_action() == "AssumeRoleWithWebIdentity" and "Authorization" not in self.headers:
        return
    _authorize(self, iam_request_cls, resource)


def main() -> None:
    access_control.IAMPolicyStatement._check_principal = _check_principal  # type: ignore[method-assign]
    ECRResponse._determine_resource = _ecr_resource  # type: ignore[attr-defined]
    access_control.IAMRequestBase._create_aws_request = _create_aws_request  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_and_authorize_action  # type: ignore[method-assign]
    moto_main(["-H", "127.0.0.1", "-p", sys.argv[1]])


if __name__ == "__main__":
    main()
