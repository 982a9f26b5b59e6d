"""The dependency direction of ARCHITECTURE.md: media/ and billing/ never meet except in server/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"server", "media", "signaling", "billing", "turn", "web"}

# What each package may import from the project (everything else of PROJECT is forbidden).
ALLOWED = {
    "media": set(),
    "signaling": {"media"},
    "billing": set(),
    "turn": set(),
    "web": set(),
}


def imported_modules(source: str) -> set[str]:
    """Top-level names of the absolute imports in `source`, including import_module("x")."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def violations(root: Path) -> list[str]:
    found = []
    for package, allowed in ALLOWED.items():
        forbidden = PROJECT - allowed - {package}
        for path in sorted((root / package).rglob("*.py")):
            for name in sorted(imported_modules(path.read_text()) & forbidden):
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


def test_packages_keep_their_direction() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("package", "line", "culprit"),
    [
        ("media", "from billing import ledger", "billing"),
        ("media", "import server.app", "server"),
        ("media", "import importlib\nimportlib.import_module('server.config')", "server"),
        ("billing", "from media.room import Room", "media"),
        ("billing", "from server import db", "server"),
        ("signaling", "from billing import wallet", "billing"),
        ("turn", "import media", "media"),
    ],
)
def test_the_check_catches_a_wrong_import(
    tmp_path: Path, package: str, line: str, culprit: str
) -> None:
    for name in ALLOWED:
        (tmp_path / name).mkdir()
    (tmp_path / package / "bad.py").write_text(line + "\n")
    assert violations(tmp_path) == [f"{package}/bad.py imports {culprit}"]


def test_allowed_imports_pass(tmp_path: Path) -> None:
    for name in ALLOWED:
        (tmp_path / name).mkdir()
    (tmp_path / "signaling" / "ok.py").write_text("from media import room\nfrom . import x\n")
    (tmp_path / "media" / "ok.py").write_text("import aiortc\nfrom .forwarder import F\n")
    assert violations(tmp_path) == []


def test_no_peer_connection_falls_back_to_googles_stun() -> None:
    """aiortc's default configuration asks stun.l.google.com; nothing here may call out.
    (The needle is split so that this file does not find itself.)"""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("media", "server", "signaling", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if "RTCPeerConnection" + "()" in path.read_text()
    ]
    assert offenders == []
