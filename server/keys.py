"""Secrets that must never have a committed default: taken from config, else generated once."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def load_or_create(path: Path) -> str:
    """The secret stored at `path`, creating it (mode 0600) with 48 random bytes on first use."""
    try:
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def derive(secret: str, purpose: str) -> bytes:
    """A key for one purpose (join tokens, demo links) from the server's secret."""
    return hashlib.sha256(f"micromentor {purpose}\0{secret}".encode()).digest()
