"""`python -m components`: the offline commands (check, render) and the AWS ones (test-connection, sandbox)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

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
