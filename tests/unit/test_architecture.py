"""The shape of the code (docs/architecture.md): which package may import which, no import
circle anywhere, domains that do not reach into each other's handlers, and small folders."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = {"server", "media", "signaling", "billing", "turn", "web"}
SCANNED = (*sorted(PROJECT), "tests", "bench")

# What each top-level package may import from the project (the rest of PROJECT is forbidden).
ALLOWED = {
    "media": set(),
    "signaling": {"media"},
    "billing": set(),
    "turn": set(),
    "web": set(),
}
# The domains of server/: each holds its service, handlers, pages and routes.
DOMAINS = (
    "accounts",
    "booking",
    "payments",
    "calls",
    "conversations",
    "notifications",
    "operations",
    "reviews",
    "disputes",
    "recordings",
    "admin",
    "credits",
    "assistant",
    "discovery",
    "community",
)
# Plumbing that every domain may use and that never imports a domain.
PLUMBING = ("http", "db")
MAX_MODULES_PER_FOLDER = 12
# Alembic's revisions are one file per schema change, in order: a history, not a design.
UNCROWDED = frozenset({Path("server/db/migrations/versions")})


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> Iterator[str]:
    """Every module `source` imports, absolute, wherever the import stands (in a function,
    under TYPE_CHECKING) and through import_module("x") too."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join([*base, node.module] if node.module else base)
            else:
                prefix = node.module or ""
            yield prefix
            yield from (f"{prefix}.{alias.name}" for alias in node.names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a `from m import name` of a submodule counts
    as importing the submodule)."""
    paths = {
        module_name(root, path): path
        for folder in SCANNED
        if (root / folder).is_dir()
        for path in (root / folder).rglob("*.py")
        if ".venv" not in path.parts
    }
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        found = set()
        for name in imports_of(path.read_text(), module, path.name == "__init__.py"):
            if name in paths and name != module:
                found.add(name)
        graph[module] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def unit_of(module: str) -> str:
    """A server domain or plumbing package counts as one unit; anything else as itself."""
    parts = module.split(".")
    if parts[0] == "server" and len(parts) > 2 and parts[1] in (*DOMAINS, *PLUMBING):
        return ".".join(parts[:2])
    return module


def collapsed(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for module, targets in graph.items():
        unit = units.setdefault(unit_of(module), set())
        unit.update(unit_of(t) for t in targets if unit_of(t) != unit_of(module))
    return units


def direction_violations(root: Path) -> list[str]:
    found = []
    for package, allowed in ALLOWED.items():
        forbidden = PROJECT - allowed - {package}
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(root, path)
            names = imports_of(path.read_text(), module, path.name == "__init__.py")
            for top in sorted({n.split(".")[0] for n in names} & forbidden):
                found.append(f"{path.relative_to(root)} imports {top}")
    return found


def is_handler_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last in ("api", "pages") or last.endswith("_api")


def domain_violations(graph: dict[str, set[str]]) -> list[str]:
    """A domain may use another's service, never its handlers; plumbing uses no domain."""
    found = []
    for module, targets in sorted(graph.items()):
        parts = module.split(".")
        if parts[0] != "server" or len(parts) < 3 or parts[1] not in (*DOMAINS, *PLUMBING):
            continue
        for target in sorted(targets):
            tparts = target.split(".")
            if tparts[0] != "server" or len(tparts) < 2 or tparts[1] == parts[1]:
                continue
            if parts[1] in PLUMBING and tparts[1] in DOMAINS:
                found.append(f"{module} (plumbing) imports the domain module {target}")
            elif tparts[1] in DOMAINS and is_handler_module(target):
                found.append(f"{module} imports another domain's handlers: {target}")
            elif tparts[1] in ("app", "cli"):
                found.append(f"{module} imports {target}, which wires everything")
    return found


def crowded_folders(root: Path) -> list[str]:
    found = []
    for folder in SCANNED:
        for directory in [root / folder, *(p for p in (root / folder).rglob("*") if p.is_dir())]:
            modules = [p for p in directory.glob("*.py") if p.name != "__init__.py"]
            if directory.relative_to(root) in UNCROWDED:
                continue
            if len(modules) > MAX_MODULES_PER_FOLDER:
                found.append(f"{directory.relative_to(root)} has {len(modules)} modules")
    return found


# -- the project as it is ----------------------------------------------------------------------


def test_packages_keep_their_direction() -> None:
    assert direction_violations(ROOT) == []


def test_no_import_circle_between_modules() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_no_import_circle_between_server_packages() -> None:
    assert cycles(collapsed(import_graph(ROOT))) == []


def test_domains_do_not_import_each_others_handlers() -> None:
    graph = import_graph(ROOT)
    assert any(m.startswith("server.booking.") for m in graph)  # the layout is really there
    assert domain_violations(graph) == []


def test_no_folder_is_crowded() -> None:
    assert crowded_folders(ROOT) == []


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


# -- the checks catch what they should ---------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            if str(parent) != ".":
                (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("package", "line", "culprit"),
    [
        ("media", "from billing import ledger", "billing"),
        ("media", "import server.app", "server"),
        ("media", "import importlib\nimportlib.import_module('server.config')", "server"),
        (
            "media",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import server",
            "server",
        ),
        ("billing", "from media.room import Room", "media"),
        ("billing", "from server import db", "server"),
        ("signaling", "from billing import wallet", "billing"),
        ("turn", "import media", "media"),
    ],
)
def test_the_direction_check_catches_a_wrong_import(
    tmp_path: Path, package: str, line: str, culprit: str
) -> None:
    write(tmp_path, {f"{name}/__init__.py": "" for name in ALLOWED})
    (tmp_path / package / "bad.py").write_text(line + "\n")
    assert direction_violations(tmp_path) == [f"{package}/bad.py imports {culprit}"]


def test_allowed_imports_pass(tmp_path: Path) -> None:
    write(tmp_path, {f"{name}/__init__.py": "" for name in ALLOWED})
    (tmp_path / "signaling" / "ok.py").write_text("from media import room\nfrom . import x\n")
    (tmp_path / "media" / "ok.py").write_text("import aiortc\nfrom .forwarder import F\n")
    assert direction_violations(tmp_path) == []


def test_a_circle_through_type_checking_and_relative_imports_is_found(tmp_path: Path) -> None:
    """The circle media/ had: participant -> room under TYPE_CHECKING, room -> participant."""
    root = write(
        tmp_path,
        {
            "media/room.py": "from media.participant import Participant\n",
            "media/participant.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .room import Room\n"
            ),
            "media/timer.py": "from media import room\n",
        },
    )
    assert cycles(import_graph(root)) == [["media.participant", "media.room"]]


def test_a_circle_between_two_domains_is_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "server/booking/bookings.py": "from server.payments.money import Money\n",
            "server/payments/money.py": "from server.booking import shapes\n",
            "server/booking/shapes.py": "",
        },
    )
    graph = import_graph(root)
    assert cycles(graph) == []  # no circle between modules...
    assert cycles(collapsed(graph)) == [["server.booking", "server.payments"]]  # ...but here


def test_reaching_into_another_domains_handlers_is_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "server/payments/pages.py": "from server.booking.bookings_api import booking_json\n",
            "server/payments/money.py": "from server.booking.bookings import Bookings\n",
            "server/http/security.py": "from server.accounts.service import Accounts\n",
            "server/booking/bookings_api.py": "",
            "server/booking/bookings.py": "",
            "server/accounts/service.py": "",
        },
    )
    assert domain_violations(import_graph(root)) == [
        "server.http.security (plumbing) imports the domain module server.accounts.service",
        "server.payments.pages imports another domain's handlers: server.booking.bookings_api",
    ]


def test_a_crowded_folder_is_found(tmp_path: Path) -> None:
    write(tmp_path, {f"server/big/m{i}.py": "" for i in range(MAX_MODULES_PER_FOLDER + 1)})
    assert crowded_folders(tmp_path) == [
        f"server/big has {MAX_MODULES_PER_FOLDER + 1} modules",
    ]
