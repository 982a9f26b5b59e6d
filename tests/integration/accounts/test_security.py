"""Issue 13's findings about accounts, each kept closed: the open redirect (1), sessions that
can be ended (2), throttling that cannot lock a user out and trusted proxies (5), the Secure
cookie (8), and the sign-up limit (9). Each test names its item."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given
from hypothesis import strategies as st

from server.accounts.pages import DASHBOARD, safe_next
from server.accounts.weak_passwords import is_weak
from server.app import create_app
from tests.conftest import FAST_PASSWORDS, PASSWORD, FakeClock, login, make_config, register

Client = TestClient[Any, Any]
MakeClient = Any


def browser_target(location: str) -> tuple[str, str]:
    """(scheme, host) a browser would go to from a Location on https://site.example: it drops
    tabs and newlines, trims C0 controls and spaces, and reads backslashes as slashes."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(0x21))))
    cleaned = cleaned.replace("\\", "/")
    parts = urlsplit(cleaned)
    if parts.scheme or cleaned.startswith("//"):
        return parts.scheme or "https", parts.netloc
    return "https", "site.example"


# -- 1: the open redirect ------------------------------------------------------------------------


@given(st.text(max_size=40) | st.sampled_from(["/\t/evil.example", "/\\evil", " //x", "/ok"]))
def test_item_1_safe_next_never_leaves_the_site(target: str) -> None:
    result = safe_next(target)
    assert result == DASHBOARD or browser_target(result) == ("https", "site.example")


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example", "https://e.x"],
)
async def test_item_1_login_never_redirects_off_site(client: Client, target: str) -> None:
    await register(client, "asha@example.org")
    await client.post("/api/auth/logout", headers={"X-CSRF-Token": "x"})  # still logged in: 403
    fresh = await client.get(f"/login?next={quote(target, safe='/%')}", allow_redirects=False)
    page = await fresh.text()
    hidden = re.search(r'name="next" value="([^"]*)"', page)
    assert hidden is not None and hidden.group(1) in (DASHBOARD, "/%09/evil.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = await client.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "email": "asha@example.org",
            "password": PASSWORD,
            "next": target,
        },
        allow_redirects=False,
    )
    assert response.status == 303
    assert browser_target(response.headers["Location"]) == ("https", "site.example")


# -- 2: sessions that end -----------------------------------------------------------------------


async def cookie_of(client: Client) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "micromentor")


async def test_item_2_a_cookie_copied_before_logout_is_worthless(
    client: Client, aiohttp_client: MakeClient
) -> None:
    await register(client, "asha@example.org")
    token = await login(client, "asha@example.org")
    stolen = await cookie_of(client)
    out = await client.post("/api/auth/logout", headers={"X-CSRF-Token": token})
    assert out.status == 204

    thief = await aiohttp_client(client.server)
    thief.session.cookie_jar.update_cookies({"micromentor": stolen})
    me = await thief.get("/api/me")
    assert me.status == 401


async def test_item_2_changing_the_password_ends_every_other_login(
    client: Client, aiohttp_client: MakeClient
) -> None:
    await register(client, "asha@example.org")
    other = await aiohttp_client(client.server)
    await login(other, "asha@example.org")
    token = await login(client, "asha@example.org")
    old_cookie = await cookie_of(client)

    wrong = await client.post(
        "/api/auth/password",
        json={"current_password": "not my password", "new_password": "a brand new secret"},
        headers={"X-CSRF-Token": token},
    )
    assert wrong.status == 400
    assert (await wrong.json())["error"]["field"] == "current_password"
    weak = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "password123"},
        headers={"X-CSRF-Token": token},
    )
    assert weak.status == 400
    assert (await weak.json())["error"]["field"] == "new_password"

    changed = await client.post(
        "/api/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
        headers={"X-CSRF-Token": token},
    )
    assert changed.status == 200, await changed.text()
    fresh_token = (await changed.json())["csrf_token"]
    assert (await client.get("/api/me")).status == 200  # this browser stays, with a new cookie
    assert await cookie_of(client) != old_cookie
    assert (await other.get("/api/me")).status == 401  # the other device is out

    replay = await aiohttp_client(client.server)
    replay.session.cookie_jar.update_cookies({"micromentor": old_cookie})
    assert (await replay.get("/api/me")).status == 401

    await login(other, "asha@example.org", "a brand new secret")
    everywhere = await client.post(
        "/api/auth/logout-everywhere", headers={"X-CSRF-Token": fresh_token}
    )
    assert everywhere.status == 204
    assert (await client.get("/api/me")).status == 401
    assert (await other.get("/api/me")).status == 401


async def test_item_2_the_account_page_changes_the_password(client: Client) -> None:
    await register(client, "asha@example.org")
    await login(client, "asha@example.org")
    page = await client.get("/account")
    assert page.status == 200
    html = await page.text()
    assert "Change your password" in html and "Log out on every device" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "current_password": "wrong wrong wrong"}
    bad = await client.post("/account/password", data={**form, "new_password": "fresh river stone"})
    assert bad.status == 400
    assert "That is not your current password." in await bad.text()
    done = await client.post(
        "/account/password",
        data={**form, "current_password": PASSWORD, "new_password": "a brand new secret"},
    )
    assert done.status == 200 and str(done.url).endswith("/account?done=password")
    assert "Your password is changed" in await done.text()


@pytest.mark.parametrize(
    "password",
    ["1234567890", "Password123!", "qwertyuiop", "aaaaaaaaaaaa", "abcdefghij", "asha@example.org"],
)
def test_item_2_common_and_email_passwords_are_refused(password: str) -> None:
    assert is_weak(password, "asha@example.org") is not None


def test_item_2_an_ordinary_passphrase_is_fine() -> None:
    assert is_weak(PASSWORD, "asha@example.org") is None


async def test_item_2_registration_refuses_a_common_password(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "a@example.org", "password": "iloveyou123", "name": "A", "role": "mentee"},
    )
    assert response.status == 400
    assert (await response.json())["error"]["field"] == "password"


# -- 5: throttling that helps the user, and trusted proxies -------------------------------------


async def proxied_app(
    aiohttp_client: MakeClient, tmp_path: Path, clock: FakeClock, **env: str
) -> Client:
    config = make_config(tmp_path, MICROMENTOR_SERVER_TRUSTED_PROXIES="127.0.0.1", **env)
    return await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))


async def test_item_5_guesses_from_one_address_do_not_lock_out_another(
    aiohttp_client: MakeClient, tmp_path: Path, clock: FakeClock
) -> None:
    client = await proxied_app(aiohttp_client, tmp_path, clock)
    await register(client, "mentor@example.org")
    attacker = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(12):
        await client.post(
            "/api/auth/login",
            json={"email": "mentor@example.org", "password": "guess guess guess"},
            headers=attacker,
        )
    blocked = await client.post(
        "/api/auth/login",
        json={"email": "mentor@example.org", "password": PASSWORD},
        headers=attacker,
    )
    assert blocked.status == 429
    owner = await client.post(
        "/api/auth/login",
        json={"email": "mentor@example.org", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.20"},
    )
    assert owner.status == 200


async def test_item_5_forwarded_for_is_believed_only_from_trusted_proxies(
    aiohttp_client: MakeClient, tmp_path: Path, clock: FakeClock
) -> None:
    """Without trusted proxies, a client cannot dodge the per-address limit by inventing
    X-Forwarded-For; and /metrics does not open to a forged loopback address."""
    config = make_config(
        tmp_path,
        MICROMENTOR_AUTH_MAX_FAILURES_PER_ADDRESS="3",
        MICROMENTOR_METRICS_ALLOW="10.9.9.9",
    )
    client = await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))
    for i in range(3):
        await client.post(
            "/api/auth/login",
            json={"email": f"u{i}@example.org", "password": "x" * 12},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
    response = await client.post(
        "/api/auth/login",
        json={"email": "u9@example.org", "password": "x" * 12},
        headers={"X-Forwarded-For": "203.0.113.99"},
    )
    assert response.status == 429
    metrics = await client.get("/metrics", headers={"X-Forwarded-For": "10.9.9.9"})
    assert metrics.status == 403


async def test_item_5_metrics_behind_a_proxy_are_not_public(
    aiohttp_client: MakeClient, tmp_path: Path, clock: FakeClock
) -> None:
    client = await proxied_app(
        aiohttp_client, tmp_path, clock, MICROMENTOR_METRICS_ALLOW="127.0.0.1"
    )
    outsider = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert outsider.status == 403
    local = await client.get("/metrics")  # Prometheus on the machine itself, not proxied
    assert local.status == 200


async def test_item_5_metrics_need_an_explicit_allow_list_or_token(client: Client) -> None:
    response = await client.get("/metrics", headers={"Accept": "application/json"})
    assert response.status == 403
    assert "token" in (await response.json())["error"]["message"]


# -- 8: the Secure cookie ----------------------------------------------------------------------


async def test_item_8_the_cookie_is_secure_over_https_through_a_trusted_proxy(
    aiohttp_client: MakeClient, tmp_path: Path, clock: FakeClock
) -> None:
    client = await proxied_app(aiohttp_client, tmp_path, clock)
    await register(client, "asha@example.org")
    https = await client.post(
        "/api/auth/login",
        json={"email": "asha@example.org", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in https.headers["Set-Cookie"].lower()
    plain = await client.post(
        "/api/auth/login", json={"email": "asha@example.org", "password": PASSWORD}
    )
    assert "secure" not in plain.headers["Set-Cookie"].lower()


async def test_item_8_forwarded_proto_from_anyone_else_is_ignored(client: Client) -> None:
    await register(client, "asha@example.org")
    response = await client.post(
        "/api/auth/login",
        json={"email": "asha@example.org", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" not in response.headers["Set-Cookie"].lower()


# -- 9: sign-ups are rate-limited per address ----------------------------------------------------


async def test_item_9_sign_ups_from_one_address_are_limited(
    aiohttp_client: MakeClient, tmp_path: Path, clock: FakeClock
) -> None:
    config = make_config(tmp_path, MICROMENTOR_AUTH_MAX_REGISTRATIONS_PER_ADDRESS="3")
    client = await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))
    for i in range(3):
        await register(client, f"user{i}@example.org")
    refused = await client.post(
        "/api/auth/register",
        json={"email": "user9@example.org", "password": PASSWORD, "name": "N", "role": "mentee"},
    )
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    clock.advance(seconds=3601)
    await register(client, "user9@example.org")


# -- 6: bodies that used to end in a 500 -------------------------------------------------------


@pytest.mark.parametrize("path", ["/login", "/logout", "/register"])
@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\n\r\n"),
        ("multipart/form-data; boundary=abc", b"--zzz\r\nContent-Disposition: form-data\r\n\r\nx"),
        ("application/x-www-form-urlencoded", b"email=\xff\xfe&password=x"),
    ],
    ids=["no-boundary", "wrong-boundary", "not-utf8"],
)
async def test_item_6_a_form_that_does_not_parse_is_a_400(
    client: Client, path: str, content_type: str, body: bytes
) -> None:
    response = await client.post(
        path, data=body, headers={"Content-Type": content_type, "Accept": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_form"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[" * 5000 + b"]" * 5000, "malformed_json"),
        (b'{"email": ' + b"1" * 5000 + b"}", "malformed_json"),
        (b'{"email": "\\ud800@example.org", "password": "long enough"}', "invalid_field"),
        (b'{"email": "a\\u0000@example.org", "password": "long enough"}', "invalid_field"),
        (b'{"email": "a@example.org", "password": NaN}', "invalid_field"),
    ],
    ids=["deep", "digits", "surrogate", "nul", "nan"],
)
async def test_item_6_json_that_used_to_fail_is_a_400(
    client: Client, body: bytes, code: str
) -> None:
    response = await client.post(
        "/api/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()
    assert (await response.json())["error"]["code"] == code
