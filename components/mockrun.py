"""Run the real `__main__.py` under the Pulumi SDK's mock runtime.

This is how `render` and `sandbox` exercise the program without the Pulumi engine: the SDK's own
mock monitor receives every resource registration and invoke, and a `Mocks` object decides what
each one returns (placeholders for `render`, real AWS calls for `sandbox`).
"""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings
from pulumi.runtime.mocks import set_mocks
from pulumi.runtime.stack import run_pulumi_func

from .config import PROJECT, Secret
from .stackfile import PROJECT_DIR

PROGRAM = PROJECT_DIR / "__main__.py"


def _encode(value: Any) -> str:
    """Config as the language host passes it: strings, structured values as JSON."""
    if isinstance(value, Secret):
        return "[secret]"
    return value if isinstance(value, str) else json.dumps(value)


def run_program(
    mocks: pulumi.runtime.Mocks,
    *,
    stack: str,
    config: Mapping[str, Any],
    secret_keys: frozenset[str] = frozenset(),
    preview: bool = False,
    program: Path = PROGRAM,
) -> None:
    """Evaluate ``program`` (our `__main__.py` unless a benchmark compares another) once.

    Raises what the program raises (pulumi.RunError for bad configuration).
    """
    runtime_config.set_all_config({k: _encode(v) for k, v in config.items()}, sorted(secret_keys))
    loop = asyncio.new_event_loop()  # before set_mocks: the root Stack binds to the current loop
    asyncio.set_event_loop(loop)
    settings.ROOT.set(None)  # a fresh root Stack per run, so several runs can share a process
    set_mocks(mocks, project=PROJECT, stack=stack, preview=preview)

    def evaluate() -> None:
        runpy.run_path(str(program), run_name="__main__")

    try:
        loop.run_until_complete(run_pulumi_func(evaluate))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
