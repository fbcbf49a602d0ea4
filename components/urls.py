"""Git URLs: which ones we accept, and how credentials are kept out of every message."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

#: scp-like SSH syntax: ``git@github.com:org/repo.git``.
SCP_URL = re.compile(r"^(?P<user>[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/\\].*)$")
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(authorization:\s*\w+\s+)\S+", re.IGNORECASE)


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an acceptable shared-config repo URL, or None.

    Plain-text transports (http, git) are accepted only on loopback, for local servers and tests.
    """
    if SCP_URL.match(url) and "://" not in url:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("https", "http", "ssh", "git"):
        if not parts.hostname:
            return f"{redact(url)!r} has no host"
        if parts.scheme in ("https", "http") and (parts.username or parts.password):
            return "must not contain credentials; use the secret gitToken config or ECR_GITOPS_GIT_TOKEN"
        if parts.scheme == "ssh" and parts.password:
            return "must not contain a password; ssh URLs use your ssh agent or keys"
        if parts.scheme in ("http", "git") and not _is_loopback(parts.hostname):
            return f"{parts.scheme}:// sends data in clear text; use https or ssh"
        if parts.query or parts.fragment:
            return "must not carry a query or fragment (set the branch with sharedConfigBranch)"
        return None
    if parts.scheme == "file":
        return None if parts.path else "file:// URL has no path"
    return f"{redact(url)!r} is not an https, ssh or file URL"


def redact(text: str, *secrets: str | None) -> str:
    """Remove URL user-info, Authorization headers and the given secret values from ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = _USERINFO.sub(lambda m: f"{m['scheme']}***@", text)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)}***", text)
