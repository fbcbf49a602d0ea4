"""`python -m components`: the offline commands (check, render) and the AWS ones (test-connection, sandbox)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi

from .config import ConfigError, StackConfig, parse_config
from .stackfile import PROJECT_DIR, StackFile, StackFileError, load_stack_file, stack_path

EXIT_INVALID = 1
EXIT_USAGE = 2


def _add_target(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="stack name: reads stacks/Pulumi.<NAME>.yaml")
    target.add_argument("--config", type=Path, help="any file in the Pulumi.<stack>.yaml format")


def load_target(args: argparse.Namespace) -> tuple[StackFile, StackConfig]:
    """Read and validate the stack named on the command line; raises StackFileError or ConfigError."""
    stack_file = load_stack_file(stack_path(args.stack), args.stack) if args.stack else load_stack_file(args.config)
    stack_config = parse_config(
        stack_file.config,
        stack=stack_file.stack,
        source=stack_file.source,
        template_exists=lambda path: (PROJECT_DIR / path).is_file(),
        secret_keys=stack_file.secret_keys,
    )
    return stack_file, stack_config


def cmd_check(args: argparse.Namespace) -> int:
    stack_file, stack_config = load_target(args)
    names = ", ".join(cfg.name for cfg in stack_config.integrations)
    print(f"{stack_file.source}: valid ({len(stack_config.integrations)} integration(s): {names})")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .render import render, to_markdown

    stack_file, stack_config = load_target(args)
    document = render(stack_file, stack_config)
    print(to_markdown(document) if args.format == "markdown" else json.dumps(document, indent=2))
    return 0


def _mark(ok: bool) -> str:
    return "✔" if ok else "✘"


def cmd_test_connection(args: argparse.Namespace) -> int:
    import boto3

    from .connection import ConnectionTest, chain_source

    _, stack_config = load_target(args)
    ok, report = True, list[dict[str, Any]]()
    for cfg in stack_config.integrations:
        test = ConnectionTest(cfg, boto3.Session(region_name=cfg.region), args.endpoint_url, args.assume_timeout)
        obtain, why_not = chain_source(test, args.assume_via, args.web_identity_token_file)
        if obtain is None:
            print(f"{cfg.name}: assume-chain not run: {why_not}", file=sys.stderr)
        for step in test.run(obtain):
            ok &= step.ok
            report.append({"integration": cfg.name, "name": step.name, "ok": step.ok, "detail": step.detail})
    if args.json:
        print(json.dumps({"ok": ok, "steps": report}, indent=2))
    else:
        for line in report:
            print(f"{_mark(line['ok'])} {line['integration']}: {line['name']}: {line['detail']}")
    return 0 if ok else EXIT_INVALID


def cmd_sandbox(args: argparse.Namespace) -> int:
    from .connection import Step
    from .sandbox.run import run_sandbox

    if args.engine == "pulumi" and shutil.which("pulumi") is None:
        print("--engine pulumi needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/)", file=sys.stderr)
        return EXIT_USAGE
    stack_file = load_stack_file(args.config) if args.config else load_stack_file(stack_path("sandbox"), "sandbox")

    def report(step: Step) -> None:
        if not args.json:
            print(f"{_mark(step.ok)} {step.name}: {step.detail}", flush=True)

    result = run_sandbox(stack_file, repo_url=args.repo, keep=args.keep, report=report, engine=args.engine)
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        print(f"sandbox {'passed' if result.ok else 'FAILED'}: role {', '.join(result.role_arns) or '-'}")
    return 0 if result.ok else EXIT_INVALID


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m components", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate a stack's configuration (offline)")
    _add_target(check)
    check.set_defaults(run=cmd_check)

    render = commands.add_parser("render", help="show what `pulumi up` would register (offline, mock runtime)")
    _add_target(render)
    render.add_argument("--format", choices=("json", "markdown"), default="json")
    render.set_defaults(run=cmd_render)

    test = commands.add_parser("test-connection", help="verify the deployed role and ECR access with boto3")
    _add_target(test)
    test.add_argument("--endpoint-url", help="AWS endpoint (for emulators)")
    test.add_argument("--assume-via", metavar="ROLE_ARN", help="assume this trusted principal first, then the chain")
    test.add_argument(
        "--web-identity-token-file",
        type=Path,
        default=os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
        help="irsa: the service account token (default: $AWS_WEB_IDENTITY_TOKEN_FILE, as in an IRSA pod)",
    )
    test.add_argument("--assume-timeout", type=float, default=30.0, help="seconds to retry AssumeRole (IAM settling)")
    test.add_argument("--json", action="store_true")
    test.set_defaults(run=cmd_test_connection)

    sandbox = commands.add_parser("sandbox", help="the whole flow against moto server and a local git repo")
    sandbox.add_argument("--config", type=Path, help="stack file (default stacks/Pulumi.sandbox.yaml)")
    sandbox.add_argument("--repo", help="use this shared-config repo URL instead of a fresh local one")
    sandbox.add_argument("--keep", action="store_true", help="do not tear down; keep the work directory")
    sandbox.add_argument("--json", action="store_true")
    sandbox.add_argument(
        "--engine",
        choices=("mock", "pulumi"),
        default="mock",
        help="mock: the SDK mock runtime applying each resource (default); pulumi: `pulumi up`/`destroy`",
    )
    sandbox.set_defaults(run=cmd_sandbox)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except StackFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
    except pulumi.RunError as exc:
        print(exc, file=sys.stderr)
        return EXIT_INVALID
