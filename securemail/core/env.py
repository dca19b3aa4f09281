"""Tiny helpers that read configuration from the environment (and `NAME_FILE` secrets)."""

import os
from pathlib import Path


def env_str(name: str, default: str = "") -> str:
    # An empty value (`DATABASE_URL=` in a .env file) means "not set", not "set to nothing".
    return os.environ.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in env_str(name, default).split(",") if part.strip()]


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from `NAME`, or from the file named by `NAME_FILE` (Docker/K8s secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return env_str(name, default)
