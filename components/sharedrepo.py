"""A local shared configuration repository with Codefresh's layout (for the sandbox and tests)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

from .manifest import ALL_RUNTIMES_DIR


def in_cluster_application(runtime: str) -> str:
    """The Argo CD Application a runtime uses to sync `resources/` (shape of Codefresh's own)."""
    include = (
        "{all-runtimes-all-clusters/*.yaml,all-runtimes-all-clusters/**/*.yaml,"
        f"runtimes/{runtime}/*.yaml,runtimes/{runtime}/**/*.yaml}}"
    )
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"{runtime}-in-cluster", "namespace": runtime},
        "spec": {
            "project": "default",
            "destination": {"name": "in-cluster"},
            "source": {"path": "resources", "directory": {"recurse": True, "include": include}},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }
    return yaml.safe_dump(app, sort_keys=False)


def create_shared_config_repo(bare_path: Path, runtimes: Iterable[str], branch: str = "main") -> str:
    """Create a bare repo at ``bare_path`` seeded like a Codefresh ISC; return its file:// URL."""
    subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", str(bare_path)], check=True)
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work)
        (tree / ALL_RUNTIMES_DIR).mkdir(parents=True)
        (tree / ALL_RUNTIMES_DIR / ".keep").write_text("")
        for runtime in runtimes:
            (tree / "runtimes" / runtime).mkdir(parents=True)
            (tree / "runtimes" / runtime / "in-cluster.yaml").write_text(in_cluster_application(runtime))
        (tree / "README.md").write_text("Codefresh shared configuration repository (local)\n")
        identity = ["-c", "user.name=codefresh", "-c", "user.email=codefresh@example.invalid"]
        subprocess.run(["git", "init", "--quiet", f"--initial-branch={branch}", work], check=True)
        subprocess.run(["git", "-C", work, "add", "-A"], check=True)
        subprocess.run(["git", "-C", work, *identity, "commit", "--quiet", "-m", "Initial layout"], check=True)
        subprocess.run(["git", "-C", work, "push", "--quiet", str(bare_path), f"HEAD:{branch}"], check=True)
    return bare_path.resolve().as_uri()
