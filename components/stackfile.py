"""Reading `Pulumi.<stack>.yaml` files for the offline commands (the engine reads them itself)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .config import PROJECT, Secret

PROJECT_DIR = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_DIR / "stacks"


class StackFileError(Exception):
    """The stack file cannot be read at all (missing, not YAML, no `config:` mapping)."""


@dataclass(frozen=True)
class StackFile:
    stack: str
    source: str  # as shown in messages: relative to the project when inside it
    config: dict[str, Any]  # fully-qualified keys; secure values replaced by Secret()
    secret_keys: frozenset[str]


def stack_path(stack: str) -> Path:
    return STACKS_DIR / f"Pulumi.{stack}.yaml"


def stack_name_of(path: Path) -> str:
    """`Pulumi.dev.yaml` -> `dev`; any other file name -> its stem."""
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name.split(".", 1)[1].rsplit(".", 1)[0]
    return path.stem


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def load_stack_file(path: Path, stack: str | None = None) -> StackFile:
    source = display_path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StackFileError(f"{source}: no such stack file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StackFileError(f"{source}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{source}: not valid YAML: {exc}".replace("\n", " ")) from None
    if document is None:
        document = {}
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{source}: expected a top-level `config:` mapping")
    config: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        full_key = str(key) if ":" in str(key) else f"{PROJECT}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            secret_keys.add(full_key)
            value = Secret()
        config[full_key] = value
    return StackFile(stack or stack_name_of(path), source, config, frozenset(secret_keys))
