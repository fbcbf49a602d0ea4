"""Benchmarks: emission cost vs repo size, program evaluation, concurrent writers (`make bench`).

Prints three tables and writes bench/results.json. Medians of several runs; ratios are what the
goals in docs/performance.md are stated in. Everything runs on loopback: repos served by a local
git daemon, programs under the SDK mock runtime.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.config import parse_config  # noqa: E402
from components.gitfile import GitFileProvider  # noqa: E402
from components.manifest import ManifestValues, manifest_path, render_manifest  # noqa: E402
from components.mockrun import run_program  # noqa: E402
from components.render import RenderMocks, render  # noqa: E402
from components.stackfile import StackFile  # noqa: E402
from tests.gitservers import git_daemon  # noqa: E402

RUNS = 3
REPOS = [(100, 1_000), (5_000, 1_000), (20_000, 1_000), (100, 10_000), (20_000, 10_000)]
INTEGRATIONS = [1, 20, 100]
WRITERS = [1, 4, 16]
IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@x",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@x",
}


def median_seconds(action: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def git(*args: str, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    env = {**os.environ, **IDENTITY}
    result = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=env, check=True)
    return result.stdout.decode()


def _blob(path: str, body: str) -> str:
    return f"M 644 inline {path}\ndata {len(body.encode())}\n{body}\n"


def synthetic_repo(path: Path, commits: int, files: int) -> None:
    """A bare repo with Codefresh's layout, ``files`` files and ``commits`` commits (git fast-import)."""
    git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    stream = []
    for i in range(commits):
        message = f"change {i}\n"
        stream.append(f"commit refs/heads/main\nmark :{i + 1}\ncommitter bench <b@x> {1700000000 + i} +0000\n")
        stream.append(f"data {len(message)}\n{message}")
        if i == 0:
            stream.append(_blob("runtimes/bench-rt/in-cluster.yaml", "runtime: bench-rt\n"))
            stream += [
                _blob(f"resources/all-runtimes-all-clusters/d{f % 100}/f{f}.yaml", f"file {f}\n") for f in range(files)
            ]
        else:
            target = i % files
            stream.append(f"from :{i}\n")
            stream.append(_blob(f"resources/all-runtimes-all-clusters/d{target % 100}/f{target}.yaml", f"rev {i}\n"))
        stream.append("\n")
    git("fast-import", "--quiet", cwd=path, stdin="".join(stream).encode())


def manifest_props(url: str, name: str) -> dict[str, Any]:
    values = ManifestValues(name, "arn:aws:iam::123456789012:role/r", "us-east-1", None, "ecr-gitops", "bench")
    return {
        "repoUrl": url,
        "branch": "main",
        "path": manifest_path(name, None),
        "content": render_manifest(values),
        "project": "ecr-gitops",
        "stack": "bench",
        "integration": name,
        "runtime": None,
        "authorName": "bench",
        "authorEmail": "b@x",
        "adoptExisting": False,
    }


def measure_repo(url: str, cache: Path) -> dict[str, float]:
    """Cold create (empty cache), warm create/update/delete, the full-clone baseline and the floor."""
    os.environ["ECR_GITOPS_CACHE_DIR"] = str(cache)
    provider = GitFileProvider()
    names = (f"m{i}" for i in range(10**6))
    cold: list[float] = []
    warm: dict[str, list[float]] = {"create": [], "update": [], "delete": []}
    for _ in range(RUNS):
        subprocess.run(["rm", "-rf", str(cache)], check=True)
        props = manifest_props(url, next(names))
        started = time.perf_counter()
        provider.create(props)
        cold.append(time.perf_counter() - started)
        provider.delete("id", props)
    for _ in range(RUNS):
        props = manifest_props(url, next(names))
        newer = {**props, "content": props["content"] + "# v2\n"}
        steps: tuple[tuple[str, Callable[..., object], tuple[Any, ...]], ...] = (
            ("create", provider.create, (props,)),
            ("update", provider.update, ("id", props, newer)),
            ("delete", provider.delete, ("id", newer)),
        )
        for op, action, args in steps:
            started = time.perf_counter()
            action(*args)
            warm[op].append(time.perf_counter() - started)

    def naive() -> None:
        """What a script would do: full clone, write, commit, push."""
        with tempfile.TemporaryDirectory() as tmp:
            git("clone", "--quiet", "--branch", "main", url, tmp)
            target = Path(tmp) / manifest_path(next(names), None)
            target.write_text("x: 1\n")
            git("add", "-A", cwd=Path(tmp))
            git("commit", "--quiet", "-m", "naive", cwd=Path(tmp))
            git("push", "--quiet", "origin", "HEAD:main", cwd=Path(tmp))

    def floor() -> None:
        """The least any tool can do: fetch the tip alone into an empty repo, push one commit."""
        with tempfile.TemporaryDirectory() as tmp:
            git("init", "--quiet", "--bare", tmp)
            git("fetch", "--quiet", "--depth=1", url, "main", cwd=Path(tmp))
            tip = git("rev-parse", "FETCH_HEAD", cwd=Path(tmp)).strip()
            commit = git("commit-tree", f"{tip}^{{tree}}", "-p", tip, "-m", "floor", cwd=Path(tmp)).strip()
            git("push", "--quiet", url, f"{commit}:refs/heads/main", cwd=Path(tmp))

    return {
        "cold_create_s": statistics.median(cold),
        **{f"warm_{op}_s": statistics.median(times) for op, times in warm.items()},
        "full_clone_baseline_s": median_seconds(naive),
        "floor_s": median_seconds(floor),
    }


def emission(work: Path) -> list[dict[str, Any]]:
    rows = []
    for commits, files in REPOS:
        base = work / f"r{commits}-{files}"
        base.mkdir()
        synthetic_repo(base / "shared.git", commits, files)
        with git_daemon(base) as root:
            rows.append(
                {
                    "commits": commits,
                    "files": files,
                    **measure_repo(root + "shared.git", work / f"cache-{commits}-{files}"),
                }
            )
        print_row(rows[-1])
    return rows


def print_row(row: dict[str, Any]) -> None:
    print("  " + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)


def stack_with(n: int, url: str) -> dict[str, Any]:
    items = [
        {
            "integrationName": f"ecr-{i}",
            "ecrAccess": "scoped",
            "repositories": [f"team-{i}/*"],
            "runtimes": ["bench-rt"],
        }
        for i in range(n)
    ]
    return {
        "aws:region": "us-east-1",
        "ecr-gitops:trustedRoleArns": ["arn:aws:iam::123456789012:role/node"],
        "ecr-gitops:grantTrustedRoles": True,
        "ecr-gitops:sharedConfigRepo": url,
        "ecr-gitops:integrations": items,
    }


BARE_PROGRAM = textwrap.dedent(
    """
    import json, os
    import pulumi_aws as aws
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for i in range(int(os.environ["BENCH_ROLES"])):
        aws.iam.Role(f"role-{i}", name=f"role-{i}", assume_role_policy=trust)
    """
)


def evaluate_once(n: int, bare: Path) -> dict[str, Any]:
    config = stack_with(n, "https://example.invalid/shared.git")
    stack_file = StackFile("bench", "bench", config, frozenset())
    parsed = parse_config(config, stack="bench", source="bench", template_exists=lambda _: False)
    ours = median_seconds(lambda: render(stack_file, parsed))
    os.environ["BENCH_ROLES"] = str(n)
    plain = median_seconds(lambda: run_program(RenderMocks("aws", "us-east-1"), stack="bench", config={}, program=bare))
    return {
        "integrations": n,
        "render_s": ours,
        "per_integration_ms": 1000 * ours / n,
        "bare_roles_s": plain,
        "ratio": ours / plain,
    }


def evaluation(work: Path) -> list[dict[str, Any]]:
    bare = work / "bare_program.py"
    bare.write_text(BARE_PROGRAM)
    rows = []
    for n in INTEGRATIONS:
        rows.append(evaluate_once(n, bare))
        print_row(rows[-1])
    return rows


WRITER = textwrap.dedent(
    """
    import json, sys
    from components.gitrepo import Author, Remote, apply
    props = json.loads(sys.argv[1])
    remote, author = Remote(props["repoUrl"], "main"), Author("b", "b@x")
    result = apply(remote, props["path"], lambda _current: props["content"], "bench", author)
    print(result.attempts)
    """
)


def concurrency(work: Path) -> list[dict[str, Any]]:
    rows = []
    for n in WRITERS:
        base = work / f"conc-{n}"
        base.mkdir()
        synthetic_repo(base / "shared.git", 100, 1_000)
        with git_daemon(base) as root:
            url = root + "shared.git"
            started = time.perf_counter()
            processes = [
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, json.dumps(manifest_props(url, f"w-{i}"))],
                    cwd=ROOT,
                    env={**os.environ, "ECR_GITOPS_CACHE_DIR": str(base / f"cache-{i}")},
                    stdout=subprocess.PIPE,
                )
                for i in range(n)
            ]
            attempts = [int(p.communicate(timeout=600)[0]) for p in processes]
            elapsed = time.perf_counter() - started
        landed = len(
            git(
                "ls-tree", "-r", "--name-only", "main", "resources/all-runtimes-all-clusters/", cwd=base / "shared.git"
            ).split()
        )
        merges = git("rev-list", "--merges", "main", cwd=base / "shared.git").strip()
        rows.append(
            {
                "writers": n,
                "total_s": elapsed,
                "retries": sum(a - 1 for a in attempts),
                "all_landed": all(p.returncode == 0 for p in processes) and landed >= n,
                "linear": merges == "",
            }
        )
        print_row(rows[-1])
    return rows


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ecr-gitops-bench-") as tmp:
        work = Path(tmp)
        print("1. emission cost vs shared-config repo size (seconds, medians)")
        emission_rows = emission(work)
        print("2. program evaluation: render vs a bare pulumi-aws program registering the same number of roles")
        evaluation_rows = evaluation(work)
        print("3. concurrent writers to one repo")
        concurrency_rows = concurrency(work)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "git": git("--version").strip(),
        "runs": RUNS,
        "emission": emission_rows,
        "evaluation": evaluation_rows,
        "concurrency": concurrency_rows,
        "total_s": time.perf_counter() - started,
    }
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote bench/results.json in {results['total_s']:.0f}s")


if __name__ == "__main__":
    main()
