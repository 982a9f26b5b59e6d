"""The HTML pages through the real app: forms with CSRF fields, errors beside fields, redirects."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.config import Config
from tests.conftest import FAST_PASSWORDS, PASSWORD, register

Client = TestClient[Any, Any]
HTML = {"Accept": "text/html"}


def csrf_field(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "form without a CSRF field"
    return match.group(1)


async def form_token(client: Client, path: str) -> str:
    response = await client.get(path, headers=HTML)
    assert response.status == 200
    return csrf_field(await response.text())


async def test_landing_and_forms_render(client: Client) -> None:
    for path in ("/", "/register", "/login"):
        response = await client.get(path, headers=HTML)
        assert response.status == 200, path
        page = await response.text()
        assert '<meta name="viewport"' in page
        # The random CSRF token may spell anything, "cdn" included: look past it.
        fixed = re.sub(r'(csrf[-_]token"? (?:content|value)=")[^"]*', r"\1", page)
        assert "cdn" not in fixed.lower() and "https://" not in page
    register_page = await (await client.get("/register")).text()
    for name in ("name", "email", "password"):
        assert f'<label for="f-{name}">' in register_page
        assert f'id="f-{name}"' in register_page
    assert register_page.count('type="radio" name="role"') == 3


async def test_register_form_logs_in_and_a_mentor_goes_on_to_apply(client: Client) -> None:
    asked = await (await client.get("/register?role=mentor", headers=HTML)).text()
    assert 'value="mentor" checked' in asked  # "Become a mentor" on the landing page
    token = await form_token(client, "/register")
    response = await client.post(
        "/register",
        data={
            "csrf_token": token,
            "name": "Ravi Kumar",
            "email": "ravi@example.org",
            "password": PASSWORD,
            "role": "mentor",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == "/become-a-mentor"  # a mentor's next step
    dashboard = await client.get("/dashboard", headers=HTML)
    page = await dashboard.text()
    assert "Hello, Ravi Kumar" in page
    assert "Calls with your mentees" in page
    assert "Your upcoming calls" not in page  # that section is the mentee's
    assert "an administrator has approved it" in page  # why they are not listed yet


async def test_register_form_shows_the_error_beside_the_field(client: Client) -> None:
    token = await form_token(client, "/register")
    response = await client.post(
        "/register",
        data={
            "csrf_token": token,
            "name": "Ravi",
            "email": "ravi@example.org",
            "password": "tiny-pw",
            "role": "mentee",
        },
    )
    assert response.status == 400
    page = await response.text()
    assert re.search(r'id="f-password"[^>]*aria-invalid="true"', page, re.S)
    assert re.search(r'id="f-password-error"\s*>Must be at least 10 characters\.<', page)
    assert 'value="ravi@example.org"' in page  # what was typed is kept
    assert "tiny-pw" not in page  # the password is not echoed


async def test_register_form_duplicate_email(client: Client) -> None:
    await register(client, "ravi@example.org")
    token = await form_token(client, "/register")
    response = await client.post(
        "/register",
        data={
            "csrf_token": token,
            "name": "Ravi",
            "email": "ravi@example.org",
            "password": PASSWORD,
            "role": "mentee",
        },
    )
    assert response.status == 409
    assert "An account with this email exists" in await response.text()


async def test_form_without_csrf_field_is_refused(client: Client) -> None:
    await client.get("/register")
    response = await client.post(
        "/register",
        data={"name": "R", "email": "r@example.org", "password": PASSWORD, "role": "mentee"},
        headers=HTML,
    )
    assert response.status == 403
    assert "This form has expired" in await response.text()


async def test_login_form_generic_error_then_next_redirect(client: Client) -> None:
    await register(client, "a@example.org")
    token = await form_token(client, "/login?next=/dashboard%3Ftab%3Dcalls")
    wrong = await client.post(
        "/login", data={"csrf_token": token, "email": "a@example.org", "password": "nope nope"}
    )
    assert wrong.status == 401
    assert "Wrong email or password." in await wrong.text()
    ok = await client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "a@example.org",
            "password": PASSWORD,
            "next": "/dashboard?tab=calls",
        },
        allow_redirects=False,
    )
    assert ok.status == 303
    assert ok.headers["Location"] == "/dashboard?tab=calls"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
async def test_login_never_redirects_off_site(client: Client, target: str) -> None:
    await register(client, "a@example.org")
    token = await form_token(client, "/login")
    response = await client.post(
        "/login",
        data={"csrf_token": token, "email": "a@example.org", "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/dashboard"


async def test_dashboard_needs_login_and_logout_ends_it(client: Client) -> None:
    response = await client.get("/dashboard", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/dashboard"

    await register(client, "a@example.org", role="both")
    token = await form_token(client, "/login")
    await client.post(
        "/login", data={"csrf_token": token, "email": "a@example.org", "password": PASSWORD}
    )
    page = await (await client.get("/dashboard")).text()
    assert "Your upcoming calls" in page and "Calls with your mentees" in page
    out = await client.post("/logout", data={"csrf_token": csrf_field(page)}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_html_error_page_for_unknown_paths(client: Client) -> None:
    response = await client.get("/no/such/page", headers=HTML)
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "Page not found" in await response.text()


async def test_static_assets_are_served_with_cache_headers(client: Client) -> None:
    page = await (await client.get("/")).text()
    href = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', page)
    assert href
    css = await client.get(href.group(1))
    assert css.status == 200
    assert "immutable" in css.headers["Cache-Control"]
    assert (await client.get("/static/../config.toml")).status == 404
    assert (await client.get("/static/nope.js")).status == 404


async def test_a_crash_is_a_500_with_a_request_id_and_no_traceback(
    aiohttp_client: Any, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(config, passwords=FAST_PASSWORDS)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail")

    app.router.add_get("/api/boom", boom)
    app.router.add_get("/boom", boom)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR):
        api = await client.get("/api/boom")
        page = await client.get("/boom", headers=HTML)
    assert api.status == page.status == 500
    error = (await api.json())["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"] == api.headers["X-Request-Id"]
    assert error["request_id"] in caplog.text
    assert "secret internal detail" in caplog.text  # logged for the operator...
    for body in (str(error), await page.text()):
        assert "secret internal detail" not in body  # ...never shown to the client
        assert "Traceback" not in body
    assert page.headers["X-Request-Id"] in await page.text()


async def test_healthz_reports_database_rooms_and_loop(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["rooms"] == 0
    assert body["loop_lag_ms"] >= 0


async def test_healthz_is_503_when_the_database_does_not_answer(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.db.engine import DATABASE

    async def unreachable() -> None:
        raise ConnectionRefusedError("database down")

    monkeypatch.setattr(client.app[DATABASE], "ping", unreachable)  # type: ignore[index]
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "unavailable"
