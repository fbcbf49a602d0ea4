"""Fixtures: real bare repos seeded with Codefresh's layout, and a private git cache per test."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from components.sharedrepo import create_shared_config_repo


@pytest.fixture(autouse=True)
def git_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "git-cache"
    monkeypatch.setenv("ECR_GITOPS_CACHE_DIR", str(cache))
    monkeypatch.delenv("ECR_GITOPS_GIT_TOKEN", raising=False)
    return cache


@pytest.fixture
def shared_repo(tmp_path: Path) -> tuple[Path, str]:
    """A bare shared-config repo with runtimes rt-a and rt-b; returns (path, file:// URL)."""
    path = tmp_path / "srv" / "shared-config.git"
    path.parent.mkdir()
    return path, create_shared_config_repo(path, ["rt-a", "rt-b"])


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def show() -> Callable[[Path, str], str | None]:
    """The text of a file on main of a bare repo, or None."""

    def read(repo: Path, path: str) -> str | None:
        result = subprocess.run(
            ["git", "-C", str(repo), "show", f"main:{path}"], capture_output=True, text=True, check=False
        )
        return result.stdout if result.returncode == 0 else None

    return read
