"""The GitHub workflows' contracts that linters cannot know: order, confirmation, pinning, privileges."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.stackfile import PROJECT_DIR

WORKFLOWS = PROJECT_DIR / ".github" / "workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def load(name: str) -> dict[str, Any]:
    raw: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return {("on" if key is True else key): value for key, value in raw.items()}  # YAML 1.1 reads `on:` as True


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_actions_pinned_and_privileges_explicit(path: Path) -> None:
    text = path.read_text()
    for line in re.findall(r"uses: (\S+(?: # \S+)?)", text):
        assert line.startswith("$/") or PINNED.match(line), line
    document = load(path.name)
    assert document["permissions"] == {}, "workflow-level permissions must be empty; jobs ask for what they need"
    for name, job in document["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions block"


def test_deploy_goes_dev_then_prod_behind_environments() -> None:
    jobs = load("deploy.yml")["jobs"]
    assert jobs["dev"]["with"] == {"stack": "dev", "command": "up"}
    assert jobs["prod"]["needs"] == "dev" and jobs["prod"]["with"]["stack"] == "prod"
    reusable = load("_pulumi.yml")["jobs"]["pulumi"]
    assert reusable["environment"] == "${{ inputs.stack }}"
    assert any("test-connection" in step.get("run", "") for step in reusable["steps"])


def test_destroy_is_manual_and_confirmed() -> None:
    document = load("destroy.yml")
    assert set(document["on"]) == {"workflow_dispatch"}
    assert document["jobs"]["destroy"]["needs"] == "confirm"
    script = document["jobs"]["confirm"]["steps"][0]
    assert '"$CONFIRM" != "destroy $STACK"' in script["run"] and "${{" not in script["run"]


def test_render_runs_without_cloud_credentials() -> None:
    jobs = load("preview.yml")["jobs"]
    assert jobs["render"]["permissions"] == {"contents": "read"}
    assert "secrets." not in yaml.safe_dump(jobs["render"])
    assert "head.repo.full_name == github.repository" in jobs["preview"]["if"]
    preview_step = next(s for s in jobs["preview"]["steps"] if s.get("uses", "").startswith("pulumi/actions"))
    assert preview_step["with"]["command"] == "preview" and preview_step["with"]["diff"] is True
