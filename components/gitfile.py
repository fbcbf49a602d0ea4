"""GitFile: "a file on a branch of a git repository" as a Pulumi dynamic resource.

The engine pickles the provider (dill) into state and runs it in another process, so the provider
object holds nothing: no client, no URL, no secret. The token is read in that process from
ECR_GITOPS_GIT_TOKEN or from the stack's secret `gitToken` config (handed over by `configure`).
Ownership lives in the file itself (annotations naming project and stack), so a stack only ever
overwrites or deletes files it created, unless `adoptExisting` is set.
"""

from __future__ import annotations

import os
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)

from .config import PROJECT
from .gitrepo import TOKEN_ENV, Author, GitError, Remote, RepoCache, apply, read_tip
from .manifest import owner_of

REQUIRED = ("repoUrl", "branch", "path", "content", "project", "stack", "integration")
OPTIONAL = ("runtime", "authorName", "authorEmail", "adoptExisting")
REPLACE_ON = ("repoUrl", "branch", "path")


RUNTIMES_DIR = "runtimes"


def _runtime_problem(props: dict[str, Any], known: list[str] | None) -> str | None:
    """A selected runtime must exist when the repo declares runtimes (`runtimes/<name>/`)."""
    runtime = props.get("runtime")
    if not runtime or known is None or runtime in known:
        return None
    return (
        f"runtime {runtime!r} does not exist in the shared configuration repo "
        f"(no runtimes/{runtime}/); it has: {', '.join(sorted(known)) or 'none'}"
    )


class OwnershipError(Exception):
    """The file exists and another stack (or a person) owns it."""


def _remote(props: dict[str, Any], token: str | None) -> Remote:
    return Remote(props["repoUrl"], props["branch"], token)


def _author(props: dict[str, Any]) -> Author:
    return Author(props.get("authorName") or "ecr-gitops", props.get("authorEmail") or "ecr-gitops@users.noreply.local")


def _owned(content: str, props: dict[str, Any]) -> bool:
    return owner_of(content) == (props["project"], props["stack"])


def _message(action: str, props: dict[str, Any]) -> str:
    return (
        f"ecr-gitops: {action} Codefresh ECR integration {props['integration']}\n\n"
        f"File: {props['path']}\nPulumi project: {props['project']}, stack: {props['stack']}\n"
    )


class GitFileProvider(ResourceProvider):
    """CRUD for one file. Holds no state of its own except the token `configure` hands it in-process."""

    _config_token: str | None = None

    def configure(self, req: ConfigureRequest) -> None:
        # The full key: the provider process may not know the project name to qualify a bare one.
        self._config_token = req.config.get(f"{PROJECT}:gitToken")

    def _token(self) -> str | None:
        return os.environ.get(TOKEN_ENV) or self._config_token

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(key, "is required") for key in REQUIRED if not news.get(key)]
        if not failures and news.get("runtime"):
            try:
                _, known = read_tip(_remote(news, self._token()), news["path"], list_dir=RUNTIMES_DIR)
                problem = _runtime_problem(news, known)
            except GitError as exc:
                problem = str(exc)
            if problem:
                failures.append(CheckFailure("runtime", problem))
        return CheckResult(news, failures)

    def _write(self, action: str, props: dict[str, Any]) -> str:
        def transform(current: str | None) -> str | None:
            if current is not None and not _owned(current, props) and not props.get("adoptExisting"):
                owner = owner_of(current)
                whose = f"stack {owner[0]}/{owner[1]}" if owner else "no ecr-gitops stack (hand-written or Codefresh's)"
                raise OwnershipError(
                    f"{props['path']} already exists on {props['branch']} and is owned by {whose}; "
                    "set adoptExisting: true to take it over"
                )
            return str(props["content"])

        def runtime_exists(repo: RepoCache, tip: str) -> None:
            if props.get("runtime") and (problem := _runtime_problem(props, repo.list_dir(tip, RUNTIMES_DIR))):
                raise GitError(problem)

        remote = _remote(props, self._token())
        result = apply(
            remote, props["path"], transform, _message(action, props), _author(props), precondition=runtime_exists
        )
        return result.commit

    def create(self, props: dict[str, Any]) -> CreateResult:
        commit = self._write("create", props)
        return CreateResult(f"{props['branch']}:{props['path']}", {**props, "commit": commit})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in REPLACE_ON if olds.get(key) != news.get(key)]
        changed = [key for key in (*REQUIRED, *OPTIONAL) if olds.get(key) != news.get(key)]  # inputs, not `commit`
        if not replaces:
            actual, _ = read_tip(_remote(olds, self._token()), olds["path"])
            if actual != olds.get("content"):  # drift: edited or deleted by hand since our last write
                changed.append("content")
        return DiffResult(changes=bool(changed or replaces), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        commit = self._write("update", news)
        return UpdateResult({**news, "commit": commit})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Remove the file if this stack owns it; a file already gone or owned by someone else is left alone."""

        def transform(current: str | None) -> str | None:
            return None if current is not None and _owned(current, props) else current

        apply(_remote(props, self._token()), props["path"], transform, _message("delete", props), _author(props))


class GitFile(pulumi.dynamic.Resource):
    """A file the stack owns on a branch of a git repository."""

    path: pulumi.Output[str]
    commit: pulumi.Output[str]
    repo_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        repo_url: str,
        branch: str,
        path: str,
        content: str,
        project: str,
        stack: str,
        integration: str,
        runtime: str | None,
        author_name: str,
        author_email: str,
        adopt_existing: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "repoUrl": repo_url,
            "branch": branch,
            "path": path,
            "content": content,
            "project": project,
            "stack": stack,
            "integration": integration,
            "runtime": runtime,
            "authorName": author_name,
            "authorEmail": author_email,
            "adoptExisting": adopt_existing,
            "commit": None,
        }
        super().__init__(GitFileProvider(), name, props, opts)
