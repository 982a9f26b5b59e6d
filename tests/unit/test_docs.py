"""The README and docs/ stay true to the repository: every link resolves to a file in it, every
path they name exists, nothing points outside, and docs/api.md lists exactly the routes the app
has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.app import create_app
from server.http.routes import ROUTES
from tests.conftest import make_config

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TOP_FOLDERS = ("server", "media", "signaling", "billing", "turn", "web", "tests", "bench", "docs")
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(rf"^(?:{'|'.join(TOP_FOLDERS)})/[\w./-]*$")
ROUTE_ROW = re.compile(r"^\| (GET|POST|PUT|DELETE|PATCH) \| `([^`]+)` \|", re.MULTILINE)


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a markdown text."""
    found = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def broken_links(document: Path, root: Path) -> list[str]:
    text = document.read_text()
    found = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            found.append(f"{target}: links outside the repository")
            continue
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.is_relative_to(root) or not file.exists():
            found.append(f"{target}: no such file in the repository")
        elif anchor and anchor not in anchors(file.read_text()):
            found.append(f"{target}: no heading #{anchor} in {file.relative_to(root)}")
    return found


def missing_paths(document: Path, root: Path) -> list[str]:
    """Paths in `code` that look like the repository's own and do not exist, and any path
    that climbs out of the repository."""
    found = []
    for token in CODE.findall(document.read_text()):
        token = token.strip()
        if "../" in token:
            found.append(f"{token}: points outside the repository")
        elif REPO_PATH.match(token) and not (root / token).exists():
            found.append(f"{token}: no such path")
    return found


def documented_routes(text: str) -> set[tuple[str, str]]:
    return set(ROUTE_ROW.findall(text))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_links_resolve_inside_the_repository(document: Path) -> None:
    assert broken_links(document, ROOT) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_named_paths_exist(document: Path) -> None:
    assert missing_paths(document, ROOT) == []


def test_the_docs_this_repository_promises_are_there() -> None:
    assert {p.name for p in DOCUMENTS} >= {
        "README.md",
        "api.md",
        "architecture.md",
        "operations.md",
    }


def test_api_md_lists_exactly_the_routes_the_app_has(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    served = {
        (route.method, re.sub(r"{(\w+)(?::[^}]*)?}", r"{\1}", route.path)) for route in app[ROUTES]
    }
    documented = documented_routes((ROOT / "docs" / "api.md").read_text())
    assert sorted(served - documented) == [], "served but not in docs/api.md"
    assert sorted(documented - served) == [], "in docs/api.md but not served"


# -- the checks catch what they should ----------------------------------------------------------


def test_the_checks_find_broken_links_and_paths(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "server").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A title\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/a.md) [anchor](docs/a.md#a-title) [bad anchor](docs/a.md#nope)\n"
        "[gone](docs/b.md) [out](../shared/design/API.md) [web](https://example.org)\n"
        "`server/` `server/nothing.py` `../shared/x.md`\n"
    )
    assert broken_links(readme, tmp_path) == [
        "docs/a.md#nope: no heading #nope in docs/a.md",
        "docs/b.md: no such file in the repository",
        "../shared/design/API.md: no such file in the repository",
        "https://example.org: links outside the repository",
    ]
    assert missing_paths(readme, tmp_path) == [
        "server/nothing.py: no such path",
        "../shared/x.md: points outside the repository",
    ]


def test_route_rows_are_read_from_tables() -> None:
    text = "| GET | `/api/me` | who |\n| POST | `/api/x/{id}` | y |\nGET `/not/a/row`\n"
    assert documented_routes(text) == {("GET", "/api/me"), ("POST", "/api/x/{id}")}
