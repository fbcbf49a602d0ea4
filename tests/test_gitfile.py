"""The GitFile provider against real git: bare repos over file://, git daemon and http-backend on loopback."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from components.gitfile import GitFileProvider, OwnershipError
from components.gitrepo import GitError
from components.manifest import ManifestValues, manifest_path, render_manifest
from components.sandbox.ports import free_port
from components.stackfile import PROJECT_DIR
from tests.conftest import git
from tests.gitservers import git_daemon, git_http

Show = Callable[[Path, str], "str | None"]


def props(
    url: str, name: str = "ecr", runtime: str | None = "rt-a", stack: str = "dev", **extra: Any
) -> dict[str, Any]:
    values = ManifestValues(name, "arn:aws:iam::123456789012:role/r", "us-east-1", runtime, "ecr-gitops", stack)
    return {
        "repoUrl": url,
        "branch": "main",
        "path": manifest_path(name, runtime),
        "content": render_manifest(values),
        "project": "ecr-gitops",
        "stack": stack,
        "integration": name,
        "runtime": runtime,
        "authorName": "Platform Bot",
        "authorEmail": "bot@example.com",
        "adoptExisting": False,
        **extra,
    }


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def commits(repo: Path) -> list[str]:
    return git(repo, "rev-list", "main").split()


def assert_linear(repo: Path) -> None:
    assert git(repo, "rev-list", "--merges", "main").strip() == ""


def hand_commit(repo: Path, path: str, content: str | None, tmp: Path) -> None:
    """Someone else changes the branch (a person, or Codefresh's app-proxy)."""
    work = tmp / f"hand-{len(list(tmp.iterdir()))}"
    subprocess.run(["git", "clone", "--quiet", str(repo), str(work)], check=True)
    target = work / path
    if content is None:
        target.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(work), "-c", "user.name=h", "-c", "user.email=h@x", "commit", "-qm", "hand"], check=True
    )
    subprocess.run(["git", "-C", str(work), "push", "--quiet", "origin", "HEAD:main"], check=True)


def test_create_update_noop_delete(shared_repo: tuple[Path, str], show: Show) -> None:
    repo, url = shared_repo
    provider = GitFileProvider()
    p = props(url)
    assert provider.check({}, p).failures == []
    created = provider.create(p)
    assert created.id == "main:resources/runtimes/rt-a/ecr.yaml"
    assert show(repo, p["path"]) == p["content"]
    assert outs(created)["commit"] == commits(repo)[0]
    log = git(repo, "log", "-1", "--format=%an <%ae>%n%s%n%b", "main")
    assert log.startswith("Platform Bot <bot@example.com>\necr-gitops: create Codefresh ECR integration ecr")
    assert "stack: dev" in log

    before = len(commits(repo))
    assert provider.diff(created.id, outs(created), {**p, "commit": None}).changes is False  # as GitFile registers
    assert outs(provider.update(created.id, outs(created), p))["commit"] == commits(repo)[0]
    assert len(commits(repo)) == before  # nothing to change, no commit

    newer = {**p, "content": p["content"].replace("us-east-1", "eu-west-1")}
    assert provider.diff(created.id, outs(created), newer).changes is True
    updated = provider.update(created.id, outs(created), newer)
    assert show(repo, p["path"]) == newer["content"] and len(commits(repo)) == before + 1

    provider.delete(created.id, outs(updated))
    assert show(repo, p["path"]) is None
    provider.delete(created.id, outs(updated))  # idempotent: already gone
    assert len(commits(repo)) == before + 2
    assert_linear(repo)


def test_path_change_is_a_replacement(shared_repo: tuple[Path, str]) -> None:
    _, url = shared_repo
    old, new = props(url, runtime="rt-a"), props(url, runtime="rt-b")
    assert GitFileProvider().diff("id", old, new).replaces == ["path"]


def test_drift_is_detected(shared_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, url = shared_repo
    provider = GitFileProvider()
    p = props(url)
    created = provider.create(p)
    hand_commit(repo, p["path"], p["content"] + "# edited by hand\n", tmp_path)
    assert provider.diff(created.id, outs(created), p).changes is True
    provider.update(created.id, outs(created), p)
    assert provider.diff(created.id, outs(created), p).changes is False
    hand_commit(repo, p["path"], None, tmp_path)
    assert provider.diff(created.id, outs(created), p).changes is True


def test_foreign_file_is_not_overwritten_unless_adopted(
    shared_repo: tuple[Path, str], tmp_path: Path, show: Show
) -> None:
    repo, url = shared_repo
    p = props(url)
    foreign = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ecr\n"
    hand_commit(repo, p["path"], foreign, tmp_path)
    with pytest.raises(OwnershipError, match=r"owned by no ecr-gitops stack.*adoptExisting"):
        GitFileProvider().create(p)
    assert show(repo, p["path"]) == foreign
    GitFileProvider().create({**p, "adoptExisting": True})
    assert show(repo, p["path"]) == p["content"]


def test_other_stacks_files_are_left_alone(shared_repo: tuple[Path, str], show: Show) -> None:
    repo, url = shared_repo
    prod = props(url, stack="prod")
    GitFileProvider().create(prod)
    dev = props(url, stack="dev")
    with pytest.raises(OwnershipError, match="owned by stack ecr-gitops/prod"):
        GitFileProvider().create(dev)
    GitFileProvider().delete("id", dev)  # dev never owned it: delete must not remove prod's file
    assert show(repo, prod["path"]) == prod["content"]


def test_unknown_runtime_lists_existing_ones(shared_repo: tuple[Path, str]) -> None:
    _, url = shared_repo
    p = props(url, runtime="rt-zzz")
    (failure,) = GitFileProvider().check({}, p).failures
    assert (
        failure.property == "runtime" and "'rt-zzz' does not exist" in failure.reason and "rt-a, rt-b" in failure.reason
    )
    with pytest.raises(GitError, match="rt-a, rt-b"):
        GitFileProvider().create(p)


def test_all_runtimes_needs_no_runtime(shared_repo: tuple[Path, str], show: Show) -> None:
    repo, url = shared_repo
    p = props(url, runtime=None)
    GitFileProvider().create(p)
    assert show(repo, "resources/all-runtimes-all-clusters/ecr.yaml") == p["content"]


def test_missing_branch_is_a_clear_error(shared_repo: tuple[Path, str]) -> None:
    _, url = shared_repo
    with pytest.raises(GitError, match="branch 'nope' does not exist"):
        GitFileProvider().create({**props(url), "branch": "nope"})


def test_rejected_push_is_reapplied(shared_repo: tuple[Path, str], show: Show) -> None:
    repo, url = shared_repo
    hook = repo / "hooks" / "pre-receive"
    marker = repo / "rejected-once"
    hook.write_text(f"#!/bin/sh\nif [ ! -e {marker} ]; then touch {marker}; echo 'busy, try again' >&2; exit 1; fi\n")
    hook.chmod(0o755)
    p = props(url)
    GitFileProvider().create(p)
    assert marker.exists() and show(repo, p["path"]) == p["content"]
    assert_linear(repo)


def test_remote_unreachable_then_converges(shared_repo: tuple[Path, str], show: Show) -> None:
    repo, _ = shared_repo
    port = free_port()
    url = f"git://127.0.0.1:{port}/{repo.name}"
    p = props(url)
    with pytest.raises(GitError, match="git fetch failed"):
        GitFileProvider().create(p)
    assert show(repo, p["path"]) is None  # nothing half-done
    with git_daemon(repo.parent, port):
        GitFileProvider().create(p)
    assert show(repo, p["path"]) == p["content"]


WRITER = textwrap.dedent(
    """
    import json, sys
    from components.gitfile import GitFileProvider
    GitFileProvider().create(json.loads(sys.argv[1]))
    """
)


def test_concurrent_writers_all_land(shared_repo: tuple[Path, str], tmp_path: Path, show: Show) -> None:
    repo, _ = shared_repo
    writers = 8
    with git_daemon(repo.parent) as base:
        url = base + repo.name
        processes = []
        for i in range(writers):
            env = {**os.environ, "ECR_GITOPS_CACHE_DIR": str(tmp_path / f"cache-{i % 3}")}  # shared and separate caches
            p = props(url, name=f"ecr-{i}", runtime=None)
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, json.dumps(p)], cwd=PROJECT_DIR, env=env, stderr=subprocess.PIPE
                )
            )
        errors = [proc.communicate(timeout=300)[1] for proc in processes]
    assert [proc.returncode for proc in processes] == [0] * writers, errors
    for i in range(writers):
        assert show(repo, f"resources/all-runtimes-all-clusters/ecr-{i}.yaml") is not None
    assert len(commits(repo)) == writers + 1
    assert_linear(repo)


def test_token_over_http_never_leaks(
    shared_repo: tuple[Path, str], git_cache: Path, monkeypatch: pytest.MonkeyPatch, show: Show
) -> None:
    repo, _ = shared_repo
    token = "ghp_SuperSecretToken1234567890"
    with git_http(repo.parent, "x-access-token", token) as (base, server):
        url = base + repo.name
        p = props(url)
        with pytest.raises(GitError) as denied:
            GitFileProvider().create(p)
        assert token not in str(denied.value)

        monkeypatch.setenv("ECR_GITOPS_GIT_TOKEN", token)
        provider = GitFileProvider()
        created = provider.create(p)
        provider.delete(created.id, outs(created))
        expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        assert expected in server.seen_authorization

        monkeypatch.setenv("ECR_GITOPS_GIT_TOKEN", token + "-wrong")
        with pytest.raises(GitError) as wrong:
            GitFileProvider().create(p)
    for text in (
        str(wrong.value),
        json.dumps(outs(created)),
        base64.b64decode(serialize_provider(provider)).decode("latin-1"),
        git(repo, "log", "-p", "main"),
    ):
        assert token not in text and expected.split()[1] not in text
    for path in git_cache.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert token.encode() not in data and expected.split()[1].encode() not in data


def test_token_from_secret_config(shared_repo: tuple[Path, str]) -> None:
    repo, _ = shared_repo
    token = "glpat-FromPulumiSecretConfig"
    with git_http(repo.parent, "x-access-token", token) as (base, _):
        provider = GitFileProvider()

        # the SDK's own Config, with a project name the provider process might get wrong
        request = ConfigureRequest(Config({"ecr-gitops:gitToken": token}, project_name="project"))
        provider.configure(request)
        provider.create(props(base + repo.name))
    assert GitFileProvider().__dict__ == {}  # what the program serialises into state holds no state at all


SERIALIZED = textwrap.dedent(
    """
    import base64, json, sys
    import dill
    provider = dill.loads(base64.b64decode(sys.argv[1]))
    props = json.loads(sys.argv[2])
    created = provider.create(props)
    print(created.outs["commit"])
    provider.delete(created.id, created.outs)
    """
)


def test_serialized_provider_runs_in_a_fresh_interpreter(shared_repo: tuple[Path, str], show: Show) -> None:
    repo, url = shared_repo
    blob = serialize_provider(GitFileProvider())
    p = props(url)
    result = subprocess.run(
        [sys.executable, "-c", SERIALIZED, blob, json.dumps(p)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in commits(repo)
    assert show(repo, p["path"]) is None
    assert len(commits(repo)) == 3
