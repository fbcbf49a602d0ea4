"""Changing one file on a branch of a (possibly huge, possibly busy) remote git repository.

Cheap: a bare, shallow (depth 1), single-branch, blob-less cache reused across operations, and no
working tree at all: commits are built with a temporary index from the freshly fetched tip.
Safe: never force-pushes, never merges, never rewrites history. A rejected push (the branch moved,
or a hook refused it) is retried by re-applying the change on the new tip, with jittered backoff.
Credentials come from the environment and reach git as an HTTP header through GIT_CONFIG_* env
variables: never in the URL, argv, .git/config, or any message (everything is redacted).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import filelock
import git
from gitdb import IStream

from .urls import redact

TOKEN_ENV = "ECR_GITOPS_GIT_TOKEN"
USERNAME_ENV = "ECR_GITOPS_GIT_USERNAME"
CACHE_ENV = "ECR_GITOPS_CACHE_DIR"
PUSH_ATTEMPTS = 20
#: Backoff between rejected pushes: full jitter, capped, so busy repos are retried soon, not in lockstep.
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 0.1, 2.0
LOCK_TIMEOUT_SECONDS = 600


class GitError(Exception):
    """A git operation failed; the message is already redacted."""


class PushRejected(GitError):
    """The remote refused the push (branch moved, or a hook declined it)."""


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class Remote:
    url: str
    branch: str
    token: str | None = None  # HTTPS only; never stored, never printed

    def __repr__(self) -> str:  # keeps the token out of tracebacks and logs
        return f"Remote(url={redact(self.url)!r}, branch={self.branch!r})"

    def _basic(self) -> str | None:
        if not self.token:
            return None
        user = os.environ.get(USERNAME_ENV, "x-access-token")
        return base64.b64encode(f"{user}:{self.token}".encode()).decode()

    def env(self) -> dict[str, str]:
        """Environment for git: no prompts, and the token (if any) as an Authorization header."""
        env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
        }
        basic = self._basic()
        if basic and urlsplit(self.url).scheme in ("https", "http"):
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
                }
            )
        return env

    def redact(self, text: str) -> str:
        return redact(text, self.token, self._basic())


def _clean(output: object) -> str:
    """One line from GitPython's captured output (it wraps it as ``\\n  stderr: '...'``)."""
    text = re.sub(r"^\s*(?:stderr|stdout): '(.*)'\s*$", r"\1", str(output), flags=re.DOTALL)
    return " ".join(text.split())


def cache_root() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "ecr-gitops" / "repos"


class RepoCache:
    """A locked, bare, shallow cache of one branch of one remote."""

    def __init__(self, remote: Remote, root: Path | None = None) -> None:
        self.remote = remote
        key = hashlib.sha256(f"{remote.url}#{remote.branch}".encode()).hexdigest()[:16]
        self.path = (root or cache_root()) / key
        self.tracking_ref = f"refs/remotes/origin/{remote.branch}"
        self._repo: git.Repo | None = None

    @contextmanager
    def locked(self) -> Iterator[RepoCache]:
        """Serialise processes sharing this cache; the remote itself is protected by push semantics."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with filelock.FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_SECONDS):
            self._repo = self._open()
            try:
                yield self
            finally:
                self._repo.close()
                self._repo = None

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            raise RuntimeError("RepoCache used outside locked()")
        return self._repo

    def _open(self) -> git.Repo:
        if (self.path / "HEAD").exists():
            return git.Repo(self.path)
        shutil.rmtree(self.path, ignore_errors=True)  # a half-initialised cache from a crash
        repo = git.Repo.init(self.path, bare=True)
        repo.git.remote("add", "origin", self.remote.url)
        return repo

    def _git(self, *args: str, env: dict[str, str] | None = None) -> str:
        """Run git in the cache with the remote's environment; errors come back redacted."""
        try:
            output: str = self.repo.git.execute(
                ["git", *args],
                env={**self.remote.env(), **(env or {})},
                stdout_as_string=True,
                strip_newline_in_stdout=False,
            )
        except git.GitCommandError as exc:
            detail = " ".join(_clean(out) for out in (exc.stderr, exc.stdout) if out)  # push --porcelain: stdout
            raise GitError(self.remote.redact(f"git {args[0]} failed: {detail}")) from None
        return output

    def fetch(self) -> str:
        """Fetch the branch tip alone (depth 1, no blobs) and return its SHA."""
        try:
            self._git(
                "fetch", "--quiet", "--depth=1", "--filter=blob:none", "--no-tags", "origin",
                f"+refs/heads/{self.remote.branch}:{self.tracking_ref}",
            )  # fmt: skip
        except GitError as exc:
            if "couldn't find remote ref" in str(exc):
                raise GitError(f"branch {self.remote.branch!r} does not exist in {redact(self.remote.url)}") from None
            raise
        return self._git("rev-parse", self.tracking_ref).strip()

    def read(self, commit: str, path: str) -> str | None:
        """The file's text at ``commit``, or None when it does not exist (blob fetched lazily)."""
        if not self._git("ls-tree", commit, "--", path).strip():
            return None
        return self._git("cat-file", "blob", f"{commit}:{path}")

    def list_dir(self, commit: str, path: str) -> list[str] | None:
        """Names directly under ``path`` at ``commit``, or None when the directory does not exist."""
        listing = self._git("ls-tree", "--name-only", commit, "--", f"{path.rstrip('/')}/")
        names = [line.rsplit("/", 1)[-1] for line in listing.splitlines() if line]
        return names or None

    def commit(self, parent: str, path: str, content: str | None, message: str, author: Author) -> str | None:
        """A new commit on ``parent`` that writes (or, for None, removes) ``path``; None if nothing changes."""
        with tempfile.TemporaryDirectory() as tmp:
            # A private index, and an empty work tree that git needs for --force-remove; never checked out.
            index = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), "GIT_WORK_TREE": tmp}
            self._git("read-tree", parent, env=index)
            if content is None:
                self._git("update-index", "--force-remove", "--", path, env=index)
            else:
                data = content.encode()
                blob = self.repo.odb.store(IStream("blob", len(data), io.BytesIO(data))).binsha.hex()
                self._git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = self._git("write-tree", env=index).strip()
        if tree == self._git("rev-parse", f"{parent}^{{tree}}").strip():
            return None
        identity = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": author.name,
            "GIT_COMMITTER_EMAIL": author.email,
        }
        return self._git("commit-tree", tree, "-p", parent, "-m", message, env=identity).strip()

    def push(self, commit: str) -> None:
        """Fast-forward the remote branch to ``commit``; PushRejected when it moved or a hook said no."""
        try:
            self._git("push", "--porcelain", "origin", f"{commit}:refs/heads/{self.remote.branch}")
        except GitError as exc:
            text = str(exc)
            if any(s in text for s in ("[rejected]", "[remote rejected]", "non-fast-forward", "fetch first")):
                raise PushRejected(text) from None
            raise


#: Given the file's current text (None: absent), return the wanted text (None: absent).
Transform = Callable[[str | None], str | None]


@dataclass(frozen=True)
class WriteResult:
    commit: str  # the new commit, or the tip when nothing had to change
    changed: bool
    attempts: int


def apply(
    remote: Remote,
    path: str,
    transform: Transform,
    message: str,
    author: Author,
    *,
    attempts: int = PUSH_ATTEMPTS,
    cache: Path | None = None,
    precondition: Callable[[RepoCache, str], None] | None = None,
) -> WriteResult:
    """Re-read, transform, commit and push until the push lands on the current tip.

    ``transform`` (and ``precondition``, given the cache and the tip) run again on every new tip, so
    their checks (ownership, runtimes) always see the latest branch, with no fetch of their own.
    """
    with RepoCache(remote, cache).locked() as repo:
        for attempt in range(1, attempts + 1):
            tip = repo.fetch()
            if precondition is not None:
                precondition(repo, tip)
            current = repo.read(tip, path)
            wanted = transform(current)
            if wanted == current:
                return WriteResult(tip, False, attempt)
            commit = repo.commit(tip, path, wanted, message, author)
            if commit is None:
                return WriteResult(tip, False, attempt)
            try:
                repo.push(commit)
                return WriteResult(commit, True, attempt)
            except PushRejected as exc:
                if attempt == attempts:
                    raise GitError(f"push to {redact(remote.url)} rejected {attempts} times; last: {exc}") from None
                time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
    raise AssertionError("unreachable")


def read_tip(
    remote: Remote, path: str, *, list_dir: str | None = None, cache: Path | None = None
) -> tuple[str | None, list[str] | None]:
    """The file's current text on the branch tip, and optionally a directory listing, in one fetch."""
    with RepoCache(remote, cache).locked() as repo:
        tip = repo.fetch()
        return repo.read(tip, path), (repo.list_dir(tip, list_dir) if list_dir else None)
